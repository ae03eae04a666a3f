"""Stack configuration of the shared and backend programs, validated before any resource.

Pure: takes the raw strings Pulumi's config holds (structured values arrive as JSON) and
returns typed settings, or raises ConfigError naming the namespaced key at fault.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestra_ops.domain.lambda_cloud import (
    FILESYSTEM_NAME_PATTERN,
    MAX_FILESYSTEM_NAME_LENGTH,
    REGION_NAMES,
)
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

SHARED_PROJECT = "orchestra-shared"
BACKEND_PROJECT = "orchestra-backend"
DEFAULT_ORG = "organization"  # what the file (diy) backend calls every organisation
CONFIG_KEYS_SHARED = (
    "region",
    "ssh_key_name",
    "ssh_public_key",
    "filesystem_name",
    "firewall_name",
    "allowed_cidr",
    "api_port",
)
CONFIG_KEYS_BACKEND = (
    "instance_type",
    "fallback_instance_types",
    "regions",
    "count",
    "image",
    "org",
    "shared_stack",
    "active_timeout_s",
    "poll_s",
    "api_port",
    "attach_shared",
    "name_prefix",
    "colours",
    "active_colour",
)
COLOURS = ("blue", "green")

Raw = Mapping[str, str | None]


@dataclass(frozen=True)
class SharedConfig:
    """What the shared stack creates: one key, one filesystem, one ruleset in one region."""

    region: str
    ssh_key_name: str
    ssh_public_key: str | None
    filesystem_name: str
    firewall_name: str
    allowed_cidr: str
    api_port: int


@dataclass(frozen=True)
class BackendConfig:
    """The API instances of one environment, and where the shared stack lives."""

    instance_type: str
    fallback_instance_types: tuple[str, ...]
    regions: tuple[str, ...]
    count: int
    image: str | None
    org: str
    shared_stack: str
    active_timeout_s: float
    poll_s: float
    api_port: int
    attach_shared: bool
    name_prefix: str
    colours: tuple[str, ...] = ("blue",)
    active_colour: str = "blue"


def _error(project: str, key: str, problem: str) -> ConfigError:
    name = f"{project}:{key}"
    return ConfigError(
        f"stack config {name} {problem}; fix it with `pulumi config set {name} ...` or in "
        "the stack's Pulumi.<stack>.yaml",
        source=name,
    )


def _parse(project: str, raw: Raw, key: str, default: Any, convert: Callable[[str], Any]) -> Any:
    value = raw.get(key)
    if value is None or value == "":
        return default
    try:
        return convert(value)
    except (ValueError, TypeError) as error:
        raise _error(project, key, f"is not valid ({error})") from error


def _string_list(value: str) -> tuple[str, ...]:
    parsed = json.loads(value) if value.lstrip().startswith("[") else value.split(",")
    if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
        raise TypeError("expected a list of strings")
    return tuple(v.strip() for v in parsed if v.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError("expected true or false")
    return lowered == "true"


def _check_regions(project: str, key: str, regions: tuple[str, ...]) -> None:
    unknown = [r for r in regions if r not in REGION_NAMES]
    if unknown:
        raise _error(project, key, f"names unknown Lambda regions {unknown}")


def shared_config(raw: Raw, stack: str) -> SharedConfig:
    """The shared stack's settings from its raw config."""
    p = SHARED_PROJECT
    region = _parse(p, raw, "region", "us-west-1", str)
    _check_regions(p, "region", (region,))
    fs_name = _parse(p, raw, "filesystem_name", f"orchestra-{stack}-data", str)
    if not FILESYSTEM_NAME_PATTERN.match(fs_name) or len(fs_name) > MAX_FILESYSTEM_NAME_LENGTH:
        raise _error(p, "filesystem_name", f"must match {FILESYSTEM_NAME_PATTERN.pattern}")
    return SharedConfig(
        region=region,
        ssh_key_name=_parse(p, raw, "ssh_key_name", f"orchestra-{stack}", str),
        ssh_public_key=_parse(p, raw, "ssh_public_key", None, str),
        filesystem_name=fs_name,
        firewall_name=_parse(p, raw, "firewall_name", f"orchestra-{stack}-api", str),
        allowed_cidr=_parse(p, raw, "allowed_cidr", "0.0.0.0/0", str),
        api_port=_parse(p, raw, "api_port", 8000, int),
    )


def backend_config(raw: Raw, stack: str) -> BackendConfig:
    """The backend stack's settings; count >= 1, known regions, a non-empty type."""
    p = BACKEND_PROJECT
    instance_type = _parse(p, raw, "instance_type", "", str).strip()
    if not instance_type:
        raise _error(p, "instance_type", "must name an instance type (e.g. gpu_1x_a10)")
    regions = _parse(p, raw, "regions", (), _string_list)
    if not regions:
        raise _error(p, "regions", "must list at least one region, most preferred first")
    _check_regions(p, "regions", regions)
    count = _parse(p, raw, "count", 1, int)
    if count < 1:
        raise _error(p, "count", f"must be at least 1 (got {count})")
    timeout, poll = (
        _parse(p, raw, k, d, float) for k, d in (("active_timeout_s", 900.0), ("poll_s", 10.0))
    )
    if not (0 < timeout < math.inf and 0 < poll < math.inf):  # also refuses nan
        raise _error(p, "active_timeout_s", "and poll_s must be positive seconds")
    colours, active = _colours(raw)
    return BackendConfig(
        instance_type=instance_type,
        fallback_instance_types=_parse(p, raw, "fallback_instance_types", (), _string_list),
        regions=regions,
        count=count,
        image=_parse(p, raw, "image", None, str),
        org=_parse(p, raw, "org", DEFAULT_ORG, str),
        shared_stack=_parse(p, raw, "shared_stack", stack, str),
        active_timeout_s=timeout,
        poll_s=poll,
        api_port=_parse(p, raw, "api_port", 8000, int),
        attach_shared=_parse(p, raw, "attach_shared", True, _bool),
        name_prefix=_parse(p, raw, "name_prefix", "orchestra-api", str),
        colours=colours,
        active_colour=active,
    )


def _colours(raw: Raw) -> tuple[tuple[str, ...], str]:
    """The colours that have instances (one, or both mid blue-green) and the serving one."""
    p = BACKEND_PROJECT
    colours = _parse(p, raw, "colours", ("blue",), _string_list)
    if not colours or len(set(colours)) != len(colours) or not set(colours) <= set(COLOURS):
        raise _error(p, "colours", f"must list distinct colours out of {list(COLOURS)}")
    active = _parse(p, raw, "active_colour", colours[0], str)
    if active not in colours:
        raise _error(p, "active_colour", f"must be one of the stack's colours {list(colours)}")
    return tuple(c for c in COLOURS if c in colours), active


def shared_stack_reference(cfg: BackendConfig) -> str:
    """The fully qualified ``org/orchestra-shared/stack`` name the backend reads."""
    return f"{cfg.org}/{SHARED_PROJECT}/{cfg.shared_stack}"


def changed_only_by_preview(
    before: str | None, now: str | None, overrides: Mapping[str, str], source: str
) -> bool:
    """True when the stack file ``now`` differs from ``before`` only as a dry run's preview
    changes it: an ``encryptionsalt`` added where there was none, and config values set to
    ``overrides`` (key without its project namespace -> value). Anything else (an edit made
    since, a salt changed) is someone else's, and putting ``before`` back would lose it."""
    if now == before:
        return True
    if now is None:
        return False
    try:
        old = load_yaml(before or "", source, typ="safe") or {}
        new = load_yaml(now, source, typ="safe") or {}
    except ConfigError:
        return False
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    if "encryptionsalt" in old and old["encryptionsalt"] != new.get("encryptionsalt"):
        return False
    old_config, new_config = old.pop("config", None) or {}, new.pop("config", None) or {}
    if not isinstance(old_config, dict) or not isinstance(new_config, dict):
        return False
    old.pop("encryptionsalt", None)
    new.pop("encryptionsalt", None)
    if old != new:
        return False
    for key in old_config.keys() | new_config.keys():
        value = new_config.get(key)
        written = overrides.get(str(key).split(":", 1)[-1])
        if value != old_config.get(key) and (written is None or str(value) != written):
            return False
    return True
