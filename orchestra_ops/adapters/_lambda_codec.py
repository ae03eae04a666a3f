"""Lambda Cloud JSON to domain objects and back (spec 1.8.3 field names).

A payload of the wrong shape raises LambdaUnavailable through :func:`parse`: the API
answered, but not with anything we can use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import SecretStr

from orchestra_ops.domain.lambda_cloud import (
    Filesystem,
    FilesystemId,
    FilesystemMount,
    FirewallProtocol,
    FirewallRule,
    FirewallRuleset,
    FirewallRulesetId,
    Image,
    ImageId,
    Instance,
    InstanceAction,
    InstanceId,
    InstanceSpecs,
    InstanceStatus,
    InstanceType,
    InstanceTypeOffer,
    LaunchRequest,
    Region,
    SshKey,
    SshKeyId,
    Tag,
)
from orchestra_ops.errors import LambdaCloudError, LambdaUnavailable

T = TypeVar("T")


def parse(what: str, build: Callable[[Any], T], payload: Any) -> T:
    """``build(payload)``, or LambdaUnavailable when the payload has another shape."""
    try:
        return build(payload)
    except (KeyError, TypeError, ValueError, AttributeError, LambdaCloudError) as error:
        raise LambdaUnavailable(
            f"Lambda Cloud answered with a {what} of an unexpected shape "
            f"({type(error).__name__}); the API may have changed"
        ) from error


def many(build: Callable[[Any], T]) -> Callable[[Any], list[T]]:
    """A builder of a list of ``build`` items."""

    def build_all(payload: Any) -> list[T]:
        if not isinstance(payload, list):
            raise TypeError("expected a list")
        return [build(item) for item in payload]

    return build_all


def region(data: dict[str, Any]) -> Region:
    """A region object."""
    return Region(name=str(data["name"]), description=str(data.get("description", "")))


def instance_type(data: dict[str, Any]) -> InstanceType:
    """An instance type object."""
    specs = data["specs"]
    return InstanceType(
        name=str(data["name"]),
        description=str(data["description"]),
        gpu_description=str(data.get("gpu_description", "")),
        price_cents_per_hour=int(data["price_cents_per_hour"]),
        specs=InstanceSpecs(
            vcpus=int(specs["vcpus"]),
            memory_gib=int(specs["memory_gib"]),
            storage_gib=int(specs["storage_gib"]),
            gpus=int(specs["gpus"]),
        ),
    )


def offers(data: dict[str, Any]) -> dict[str, InstanceTypeOffer]:
    """The ``/instance-types`` payload."""
    return {
        name: InstanceTypeOffer(
            instance_type=instance_type(entry["instance_type"]),
            regions_with_capacity_available=tuple(
                region(r) for r in entry["regions_with_capacity_available"]
            ),
        )
        for name, entry in data.items()
    }


def instance(data: dict[str, Any]) -> Instance:
    """An Instance object."""
    return Instance(
        id=InstanceId(str(data["id"])),
        status=InstanceStatus(data["status"]),
        region=region(data["region"]),
        instance_type=instance_type(data["instance_type"]),
        ssh_key_names=tuple(data["ssh_key_names"]),
        file_system_names=tuple(data["file_system_names"]),
        actions={
            name: InstanceAction(
                available=bool(a["available"]),
                reason_code=a.get("reason_code"),
                reason_description=a.get("reason_description"),
            )
            for name, a in data["actions"].items()
        },
        name=data.get("name"),
        ip=data.get("ip"),
        private_ip=data.get("private_ip"),
        hostname=data.get("hostname"),
        tags=tuple(Tag(str(t["key"]), str(t["value"])) for t in data.get("tags") or ()),
        firewall_ruleset_ids=tuple(
            FirewallRulesetId(str(r["id"])) for r in data.get("firewall_rulesets") or ()
        ),
        file_system_mounts=tuple(
            FilesystemMount(str(m["mount_point"]), FilesystemId(str(m["file_system_id"])))
            for m in data.get("file_system_mounts") or ()
        ),
    )


def ssh_key(data: dict[str, Any]) -> SshKey:
    """An SSHKey (or GeneratedSSHKey, whose private key is kept secret)."""
    private = data.get("private_key")
    return SshKey(
        id=SshKeyId(str(data["id"])),
        name=str(data["name"]),
        public_key=str(data["public_key"]),
        private_key=SecretStr(str(private)) if private is not None else None,
    )


def filesystem(data: dict[str, Any]) -> Filesystem:
    """A Filesystem object."""
    created_by = data.get("created_by") or {}
    return Filesystem(
        id=FilesystemId(str(data["id"])),
        name=str(data["name"]),
        mount_point=str(data["mount_point"]),
        created=str(data["created"]),
        region=region(data["region"]),
        is_in_use=bool(data["is_in_use"]),
        bytes_used=data.get("bytes_used"),
        created_by_email=created_by.get("email"),
    )


def image(data: dict[str, Any]) -> Image:
    """An Image object."""
    return Image(
        id=ImageId(str(data["id"])),
        name=str(data["name"]),
        family=str(data["family"]),
        version=str(data["version"]),
        architecture=str(data["architecture"]),
        region=region(data["region"]),
        description=str(data.get("description", "")),
        created_time=str(data.get("created_time", "")),
        updated_time=str(data.get("updated_time", "")),
    )


def rule(data: dict[str, Any]) -> FirewallRule:
    """A FirewallRule object."""
    ports = data.get("port_range")
    return FirewallRule(
        protocol=FirewallProtocol(data["protocol"]),
        source_network=str(data["source_network"]),
        port_range=(int(ports[0]), int(ports[1])) if ports is not None else None,
        description=str(data.get("description", "")),
    )


def ruleset(data: dict[str, Any]) -> FirewallRuleset:
    """A FirewallRuleset object (the global one has no region)."""
    return FirewallRuleset(
        id=FirewallRulesetId(str(data["id"])),
        name=str(data["name"]),
        rules=tuple(rule(r) for r in data["rules"]),
        region=region(data["region"]) if data.get("region") else None,
    )


def rules_json(rules: Sequence[FirewallRule]) -> list[dict[str, Any]]:
    """Rules as the API takes them."""
    encoded = []
    for r in rules:
        item: dict[str, Any] = {"protocol": r.protocol.value, "source_network": r.source_network}
        if r.port_range is not None:
            item["port_range"] = list(r.port_range)
        item["description"] = r.description
        encoded.append(item)
    return encoded


def launch_json(request: LaunchRequest) -> dict[str, Any]:
    """An InstanceLaunchRequest body; optional fields only when set."""
    body: dict[str, Any] = {
        "region_name": request.region_name,
        "instance_type_name": request.instance_type_name,
        "ssh_key_names": list(request.ssh_key_names),
    }
    optional: dict[str, Any] = {
        "name": request.name,
        "hostname": request.hostname,
        "file_system_names": list(request.file_system_names) or None,
        "file_system_mounts": [
            {"mount_point": m.mount_point, "file_system_id": m.file_system_id}
            for m in request.file_system_mounts
        ]
        or None,
        "image": {"id": request.image_id}
        if request.image_id
        else ({"family": request.image_family} if request.image_family else None),
        "user_data": request.user_data,
        "tags": [{"key": t.key, "value": t.value} for t in request.tags] or None,
        "firewall_rulesets": [{"id": r} for r in request.firewall_ruleset_ids] or None,
        # Not in the 1.8.3 schema: sent only when more than one is wanted.
        "quantity": request.quantity if request.quantity != 1 else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body
