"""Request-body checks of the emulator; each failure is 400 ``global/invalid-parameters``.

The emulator checks independently of the client (it shares only the spec's patterns), so
a client bug that sends a bad body is caught here rather than agreed with.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from orchestra_ops.domain.lambda_cloud import (
    FILESYSTEM_NAME_PATTERN,
    HOSTNAME_PATTERN,
    MAX_USER_DATA_BYTES,
    REGION_NAMES,
    TAG_KEY_PATTERN,
)
from orchestra_ops.sandbox.lambda_cloud.envelope import invalid

_LAUNCH_FIELDS = {
    "region_name",
    "instance_type_name",
    "ssh_key_names",
    "name",
    "hostname",
    "file_system_names",
    "file_system_mounts",
    "image",
    "user_data",
    "tags",
    "firewall_rulesets",
    "quantity",
}


@dataclass
class LaunchSpec:
    """A launch request that passed the shape checks."""

    region: str
    instance_type: str
    ssh_key: str
    name: str | None = None
    hostname: str | None = None
    file_system_names: list[str] = field(default_factory=list)
    mounts: list[dict[str, str]] = field(default_factory=list)
    image: dict[str, str] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    firewall_ruleset_ids: list[str] = field(default_factory=list)
    quantity: int = 1


def obj(value: Any, what: str = "request body") -> dict[str, Any]:
    """``value`` as a JSON object, or 400."""
    if not isinstance(value, dict):
        raise invalid(f"{what} must be a JSON object")
    return value


def text(
    body: dict[str, Any], key: str, *, max_len: int, pattern: re.Pattern[str] | None = None
) -> str:
    """A required string field, at most ``max_len`` long and matching ``pattern``."""
    value = body.get(key)
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise invalid(f"{key} must be a string of 1 to {max_len} characters")
    if pattern is not None and not pattern.match(value):
        raise invalid(f"{key} must match {pattern.pattern}")
    return value


def region(body: dict[str, Any], key: str = "region") -> str:
    """A required region code from the spec's enum."""
    value = body.get(key)
    if value not in REGION_NAMES:
        raise invalid(f"{key} must be one of the Lambda region codes")
    return str(value)


def _str_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{key} must be a list of strings")
    return value


def _objects(body: dict[str, Any], key: str, keys: set[str]) -> list[dict[str, str]]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise invalid(f"{key} must be a list")
    for item in value:
        if not isinstance(item, dict) or set(item) != keys:
            raise invalid(f"each item of {key} must have exactly the keys {sorted(keys)}")
        if not all(isinstance(v, str) for v in item.values()):
            raise invalid(f"the values in {key} must be strings")
    return value


def launch(body: dict[str, Any]) -> LaunchSpec:
    """Check an ``InstanceLaunchRequest``."""
    unknown = set(body) - _LAUNCH_FIELDS
    if unknown:
        raise invalid(f"unknown fields: {sorted(unknown)}")
    keys = _str_list(body, "ssh_key_names")
    if len(keys) != 1:
        raise invalid("ssh_key_names must hold exactly one key name")
    spec = LaunchSpec(
        region=region(body, "region_name"),
        instance_type=text(body, "instance_type_name", max_len=200),
        ssh_key=keys[0],
        file_system_names=_str_list(body, "file_system_names"),
        mounts=_objects(body, "file_system_mounts", {"mount_point", "file_system_id"}),
        tags=_objects(body, "tags", {"key", "value"}),
        firewall_ruleset_ids=[r["id"] for r in _objects(body, "firewall_rulesets", {"id"})],
    )
    if body.get("name") is not None:
        spec.name = text(body, "name", max_len=64)
    if body.get("hostname") is not None:
        spec.hostname = text(body, "hostname", max_len=63, pattern=HOSTNAME_PATTERN)
    for tag in spec.tags:
        if not TAG_KEY_PATTERN.match(tag["key"]) or len(tag["key"]) > 55:
            raise invalid(f"tag keys must match {TAG_KEY_PATTERN.pattern}, at most 55 long")
        if len(tag["value"]) > 128:
            raise invalid("tag values are at most 128 characters")
    spec.image = _image(body.get("image"))
    user_data = body.get("user_data")
    if user_data is not None and (
        not isinstance(user_data, str) or len(user_data.encode()) > MAX_USER_DATA_BYTES
    ):
        raise invalid("user_data must be a string of at most 1 MB")
    quantity = body.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise invalid("quantity must be a positive integer")
    spec.quantity = quantity
    return spec


def _image(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or not set(value) <= {"id", "family"}
        or not all(isinstance(v, str) for v in value.values())
    ):
        raise invalid('image must be {"id": ...} or {"family": ...}')
    return value


def filesystem_name(body: dict[str, Any]) -> str:
    """A filesystem name: ``^[a-zA-Z]+[0-9a-zA-Z-]*$``, at most 60 characters."""
    return text(body, "name", max_len=60, pattern=FILESYSTEM_NAME_PATTERN)


def rules(value: Any) -> list[dict[str, Any]]:
    """A list of ``FirewallRule``; bare IPs become /32 networks."""
    if not isinstance(value, list):
        raise invalid("rules must be a list of firewall rules")
    return [_rule(obj(item, "a firewall rule")) for item in value]


def _rule(item: dict[str, Any]) -> dict[str, Any]:
    if set(item) - {"protocol", "port_range", "source_network", "description"}:
        raise invalid("a firewall rule has only protocol, port_range, source_network, description")
    protocol = item.get("protocol")
    if protocol not in ("tcp", "udp", "icmp", "all"):
        raise invalid("protocol must be tcp, udp, icmp or all")
    ports = item.get("port_range")
    if protocol == "icmp" and ports is not None:
        raise invalid("port_range is not allowed for icmp rules")
    if protocol != "icmp" and not _valid_ports(ports):
        raise invalid("port_range must be [min, max] with 1 <= min <= max <= 65535")
    try:
        network = ipaddress.ip_network(str(item.get("source_network")), strict=False)
    except ValueError as error:
        raise invalid("source_network must be a CIDR block or an IP address") from error
    description = item.get("description")
    if not isinstance(description, str):
        raise invalid("description must be a string")
    rule: dict[str, Any] = {"protocol": protocol, "source_network": str(network)}
    if ports is not None:
        rule["port_range"] = list(ports)
    rule["description"] = description
    return rule


def _valid_ports(ports: Any) -> bool:
    return (
        isinstance(ports, list)
        and len(ports) == 2
        and all(isinstance(p, int) and not isinstance(p, bool) for p in ports)
        and 1 <= ports[0] <= ports[1] <= 65535
    )
