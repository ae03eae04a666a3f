"""Lambda Cloud as Orchestra Ops sees it: instances, types, keys, filesystems, firewalls.

Pure data (frozen dataclasses, enums, ``NewType`` ids) plus the launch request's own
validation, so a bad request is refused before it is sent. The rules follow the Lambda
Cloud API spec 1.8.3 (see ``cloud-api-contracts.md`` section A).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import NewType

from pydantic import SecretStr

from orchestra_ops.errors import LambdaInvalidRequest

InstanceId = NewType("InstanceId", str)
SshKeyId = NewType("SshKeyId", str)
FilesystemId = NewType("FilesystemId", str)
FirewallRulesetId = NewType("FirewallRulesetId", str)
ImageId = NewType("ImageId", str)

REGION_NAMES: tuple[str, ...] = (
    "us-west-1",
    "us-west-2",
    "us-west-3",
    "us-east-1",
    "us-east-2",
    "us-east-3",
    "us-south-1",
    "us-south-2",
    "us-south-3",
    "us-midwest-1",
    "us-midwest-2",
    "europe-central-1",
    "asia-south-1",
    "asia-northeast-1",
    "asia-northeast-2",
    "australia-east-1",
    "me-west-1",
)
"""The ``PublicRegionCode`` enum of spec 1.8.3."""

HOSTNAME_PATTERN = re.compile(r"^[a-z0-9][0-9a-z-]{0,62}$")
TAG_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-:]+$")
FILESYSTEM_NAME_PATTERN = re.compile(r"^[a-zA-Z]+[0-9a-zA-Z-]*$")
MAX_NAME_LENGTH = 64
MAX_TAG_KEY_LENGTH = 55
MAX_TAG_VALUE_LENGTH = 128
MAX_FILESYSTEM_NAME_LENGTH = 60
MAX_USER_DATA_BYTES = 1024 * 1024


class InstanceStatus(enum.StrEnum):
    """Where an instance is in its life."""

    BOOTING = "booting"
    ACTIVE = "active"
    UNHEALTHY = "unhealthy"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    PREEMPTED = "preempted"


#: Statuses of an instance that is gone or going: it serves nothing and bills no more.
GONE = frozenset({InstanceStatus.TERMINATING, InstanceStatus.TERMINATED, InstanceStatus.PREEMPTED})


class FirewallProtocol(enum.StrEnum):
    """Protocols a firewall rule can open."""

    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    ALL = "all"


@dataclass(frozen=True)
class Region:
    """A region: its code (``us-west-1``) and where it is (``California, USA``)."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class InstanceSpecs:
    """The hardware of an instance type."""

    vcpus: int
    memory_gib: int
    storage_gib: int
    gpus: int


@dataclass(frozen=True)
class InstanceType:
    """An instance type with its hardware and hourly price."""

    name: str
    description: str
    gpu_description: str
    price_cents_per_hour: int
    specs: InstanceSpecs


@dataclass(frozen=True)
class InstanceTypeOffer:
    """An instance type and the regions that listed capacity (not a reservation)."""

    instance_type: InstanceType
    regions_with_capacity_available: tuple[Region, ...]


@dataclass(frozen=True)
class Tag:
    """A key/value label on an instance."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if not TAG_KEY_PATTERN.match(self.key) or len(self.key) > MAX_TAG_KEY_LENGTH:
            raise _invalid(f"tag key {self.key!r} must match {TAG_KEY_PATTERN.pattern}, <= 55")
        if len(self.value) > MAX_TAG_VALUE_LENGTH:
            raise _invalid(f"tag {self.key!r}: the value is longer than 128 characters")


@dataclass(frozen=True)
class InstanceAction:
    """Whether one action (restart, terminate...) is available now, and why not."""

    available: bool
    reason_code: str | None = None
    reason_description: str | None = None


@dataclass(frozen=True)
class FilesystemMount:
    """A filesystem mounted at a path of an instance."""

    mount_point: str
    file_system_id: FilesystemId


@dataclass(frozen=True)
class Instance:
    """One instance; ``ip`` and ``hostname`` are None until it is active."""

    id: InstanceId
    status: InstanceStatus
    region: Region
    instance_type: InstanceType
    ssh_key_names: tuple[str, ...]
    file_system_names: tuple[str, ...]
    actions: dict[str, InstanceAction] = field(default_factory=dict, hash=False)
    name: str | None = None
    ip: str | None = None
    private_ip: str | None = None
    hostname: str | None = None
    tags: tuple[Tag, ...] = ()
    firewall_ruleset_ids: tuple[FirewallRulesetId, ...] = ()
    file_system_mounts: tuple[FilesystemMount, ...] = ()


@dataclass(frozen=True)
class SshKey:
    """An SSH key; ``private_key`` is set only on a key Lambda generated, and only once."""

    id: SshKeyId
    name: str
    public_key: str
    private_key: SecretStr | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Filesystem:
    """A persistent filesystem in one region."""

    id: FilesystemId
    name: str
    mount_point: str
    created: str
    region: Region
    is_in_use: bool
    bytes_used: int | None = None
    created_by_email: str | None = None


@dataclass(frozen=True)
class FirewallRule:
    """One inbound rule; ``port_range`` is required except for icmp, which forbids it."""

    protocol: FirewallProtocol
    source_network: str
    port_range: tuple[int, int] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.protocol is FirewallProtocol.ICMP and self.port_range is not None:
            raise _invalid("an icmp firewall rule takes no port_range")
        if self.protocol is not FirewallProtocol.ICMP:
            low, high = self.port_range or (0, 0)
            if not 1 <= low <= high <= 65535:
                raise _invalid(f"a {self.protocol} rule needs a port_range 1 <= min <= max")


@dataclass(frozen=True)
class FirewallRuleset:
    """A named set of rules in one region (``region`` is None for the global ruleset)."""

    id: FirewallRulesetId
    name: str
    rules: tuple[FirewallRule, ...]
    region: Region | None = None


@dataclass(frozen=True)
class Image:
    """A machine image an instance can boot from."""

    id: ImageId
    name: str
    family: str
    version: str
    architecture: str
    region: Region
    description: str = ""
    created_time: str = ""
    updated_time: str = ""


@dataclass(frozen=True)
class LaunchRequest:
    """What to launch; invalid requests raise LambdaInvalidRequest before any I/O.

    ``image_id`` and ``image_family`` are exclusive (neither: the latest Lambda Stack).
    """

    region_name: str
    instance_type_name: str
    ssh_key_names: tuple[str, ...]
    name: str | None = None
    hostname: str | None = None
    file_system_names: tuple[str, ...] = ()
    file_system_mounts: tuple[FilesystemMount, ...] = ()
    image_id: ImageId | None = None
    image_family: str | None = None
    user_data: str | None = field(default=None, repr=False)
    tags: tuple[Tag, ...] = ()
    firewall_ruleset_ids: tuple[FirewallRulesetId, ...] = ()
    quantity: int = 1

    def __post_init__(self) -> None:
        for problem in launch_request_problems(self):
            raise _invalid(problem)


def launch_request_problems(request: LaunchRequest) -> list[str]:
    """Every reason the API would refuse ``request`` as malformed (empty when valid)."""
    problems: list[str] = []
    if request.region_name not in REGION_NAMES:
        problems.append(f"region_name {request.region_name!r} is not a Lambda region")
    if not request.instance_type_name:
        problems.append("instance_type_name is empty")
    if len(request.ssh_key_names) != 1:
        problems.append("ssh_key_names must hold exactly one key name")
    if request.name is not None and len(request.name) > MAX_NAME_LENGTH:
        problems.append("name is longer than 64 characters")
    if request.hostname is not None and not HOSTNAME_PATTERN.match(request.hostname):
        problems.append(f"hostname must match {HOSTNAME_PATTERN.pattern}")
    if request.image_id is not None and request.image_family is not None:
        problems.append("give image_id or image_family, not both")
    if request.user_data is not None and len(request.user_data.encode()) > MAX_USER_DATA_BYTES:
        problems.append("user_data is larger than 1 MB")
    if request.quantity < 1:
        problems.append("quantity must be at least 1")
    return problems


def _invalid(problem: str) -> LambdaInvalidRequest:
    return LambdaInvalidRequest(
        f"invalid Lambda Cloud request (refused before sending): {problem}; fix it and retry"
    )
