"""A LambdaInstance's inputs as a typed spec, and the checks Pulumi shows before an update."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestra_ops.adapters.pulumi.provider._common import resource_key, strings, text
from orchestra_ops.domain.lambda_cloud import (
    HOSTNAME_PATTERN,
    REGION_NAMES,
    FirewallRulesetId,
    ImageId,
    Tag,
)

_IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_ACTIVE_TIMEOUT_S = 900.0
DEFAULT_POLL_S = 10.0


@dataclass(frozen=True)
class InstanceSpec:
    """What a LambdaInstance asks for; ``instance_types`` is the type then its fallbacks."""

    name: str
    key: str
    instance_types: tuple[str, ...]
    regions: tuple[str, ...]
    ssh_key_name: str
    image: str | None = None
    file_system_names: tuple[str, ...] = ()
    firewall_ruleset_ids: tuple[FirewallRulesetId, ...] = ()
    tags: tuple[Tag, ...] = ()
    hostname: str | None = None
    owner: str | None = None
    active_timeout_s: float = DEFAULT_ACTIVE_TIMEOUT_S
    poll_s: float = DEFAULT_POLL_S

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> InstanceSpec:
        """Build from resource inputs (or outputs, which repeat them)."""
        name = str(props["name"])
        types = (str(props["instance_type"]), *strings(props, "fallback_instance_types"))
        tags = props.get("tags") or {}
        return cls(
            name=name,
            key=text(props, "resource_key") or resource_key("instance", name),
            instance_types=tuple(dict.fromkeys(types)),
            regions=strings(props, "regions"),
            ssh_key_name=str(props["ssh_key_name"]),
            image=text(props, "image"),
            file_system_names=strings(props, "file_system_names"),
            firewall_ruleset_ids=tuple(
                FirewallRulesetId(r) for r in strings(props, "firewall_ruleset_ids")
            ),
            tags=tuple(Tag(str(k), str(v)) for k, v in sorted(tags.items())),
            hostname=text(props, "hostname"),
            owner=text(props, "owner"),
            active_timeout_s=float(props.get("active_timeout_s") or DEFAULT_ACTIVE_TIMEOUT_S),
            poll_s=float(props.get("poll_s") or DEFAULT_POLL_S),
        )

    def image_id_or_family(self) -> tuple[ImageId | None, str | None]:
        """``image`` read as an id (32 hex digits) or else as a family."""
        if self.image is None:
            return None, None
        if _IMAGE_ID.match(self.image):
            return ImageId(self.image), None
        return None, self.image


def input_problems(props: dict[str, Any]) -> list[tuple[str, str]]:
    """(property, reason) for each input Lambda would refuse; empty when all is well."""
    problems: list[tuple[str, str]] = []
    for required in ("name", "instance_type", "ssh_key_name"):
        if not text(props, required):
            problems.append((required, f"{required} must be a non-empty string"))
    if len(str(props.get("name") or "")) > 64:
        problems.append(("name", "name must be at most 64 characters"))
    unknown = [r for r in strings(props, "regions") if r not in REGION_NAMES]
    if unknown:
        problems.append(("regions", f"unknown Lambda regions {unknown}"))
    hostname = text(props, "hostname")
    if hostname is not None and not HOSTNAME_PATTERN.match(hostname):
        problems.append(("hostname", f"hostname must match {HOSTNAME_PATTERN.pattern}"))
    for key in ("active_timeout_s", "poll_s"):
        value = props.get(key)
        if value is not None and not (isinstance(value, int | float) and value > 0):
            problems.append((key, f"{key} must be a positive number of seconds"))
    return problems
