"""JavaScript lockfiles other than npm's: ``pnpm-lock.yaml``, ``yarn.lock`` (v1 and berry)
and the text ``bun.lock``.

Registry packages become exact pins; git, URL, file and link sources are listed as
unchecked. Workspace members (the repository's own packages) are not dependencies and
are left out; each one's ``package.json`` is listed by discovery as covered by the lock.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from orchestra_ops.adapters.lockfiles.base import ParsedLock, is_semver
from orchestra_ops.errors import ConfigError

_NOT_REGISTRY = "installed from {what}, not the npm registry: no released version to look up"
_TOP_KEY = re.compile(
    r"""^(?P<indent> *)(?P<q>['"]?)(?P<key>[^\s'"#][^'"]*?)(?P=q):(\s+\S.*)?\s*$"""
)


def _yaml(text: str, source: str) -> Any:
    """The lock's document; pnpm 10 may put an env lockfile first (``---`` between them),
    so the last document holding ``importers`` or ``packages`` is the project's lock."""
    try:
        documents = [d for d in YAML(typ="safe", pure=True).load_all(text) if d is not None]
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{source}{where}: not valid YAML", source=source) from None
    locks = [d for d in documents if isinstance(d, dict) and ({"importers", "packages"} & set(d))]
    return (locks or documents or [None])[-1]


def _key_lines(text: str, indent: int, section: str | None) -> dict[str, int]:
    """Key -> 1-based line of the mapping keys at ``indent`` (inside top-level ``section``)."""
    found: dict[str, int] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _TOP_KEY.match(line)
        if match is None:
            continue
        depth = len(match.group("indent"))
        if depth == 0:
            current = match.group("key")
        if depth == indent and (section is None or current == section):
            found.setdefault(match.group("key"), number)
    return found


def _split_at(spec: str) -> tuple[str, str]:
    """``name@rest`` -> (name, rest); a scope's leading ``@`` is part of the name."""
    at = spec.find("@", 1)
    return (spec, "") if at < 0 else (spec[:at], spec[at + 1 :])


def _pnpm_key(key: str, major: int) -> tuple[str, str]:
    key = key.lstrip("/").split("(", 1)[0]
    if major >= 6:
        return _split_at(key)
    name, _, version = key.rpartition("/")
    return name, version.split("_", 1)[0]


def read_pnpm_lock(text: str, source: str) -> ParsedLock:
    """The pins of a ``pnpm-lock.yaml`` (lockfile versions 5.x, 6 and 9)."""
    data = _yaml(text, source)
    if not isinstance(data, dict) or "lockfileVersion" not in data:
        raise ConfigError(f"{source}: not a pnpm lockfile (no lockfileVersion)", source=source)
    try:
        major = int(float(str(data["lockfileVersion"])))
    except ValueError:
        raise ConfigError(f"{source}: unreadable lockfileVersion", source=source) from None
    packages = data.get("packages") or {}
    if not isinstance(packages, dict):
        raise ConfigError(f"{source}: `packages` is not a mapping", source=source)
    lines = _key_lines(text, 2, "packages")
    parsed = ParsedLock()
    for key, entry in packages.items():
        name, version = _pnpm_key(str(key), major)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, version = entry["name"], str(entry.get("version", version))
        line = lines.get(str(key))
        if name and is_semver(version):
            parsed.pin(name, version, line)
        else:
            what = version or "elsewhere"
            parsed.skip(source, line, name or str(key), _NOT_REGISTRY.format(what=what))
    return parsed.sorted()


def _berry_resolution(resolution: str) -> tuple[str, str, str]:
    """(name, protocol, payload) of ``lodash@npm:4.17.20``; a patch is unwrapped."""
    name, rest = _split_at(resolution)
    protocol, _, payload = rest.partition(":")
    if protocol == "patch":
        return _berry_resolution(unquote(payload.split("#", 1)[0]))
    return name, protocol, payload


def _read_berry(text: str, source: str) -> ParsedLock:
    data = _yaml(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: not a yarn lockfile", source=source)
    lines = _key_lines(text, 0, None)
    parsed = ParsedLock()
    for key, entry in data.items():
        if key == "__metadata" or not isinstance(entry, dict):
            continue
        name, protocol, payload = _berry_resolution(str(entry.get("resolution", "")))
        line = lines.get(str(key))
        if protocol == "workspace":
            continue
        if protocol == "npm" and is_semver(payload):
            parsed.pin(name, payload, line)
        else:
            what = f"{protocol}:{payload}" if protocol else "an unknown source"
            parsed.skip(source, line, name or str(key), _NOT_REGISTRY.format(what=what))
    return parsed.sorted()


def _v1_name(spec: str) -> tuple[str, str]:
    name, wanted = _split_at(spec.strip().strip('"'))
    if wanted.startswith("npm:"):
        name, wanted = _split_at(wanted[4:])
    return name, wanted


def _read_v1(text: str, source: str) -> ParsedLock:
    parsed = ParsedLock()
    header: tuple[str, str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line and not line[0].isspace() and not line.startswith("#") and line.endswith(":"):
            name, wanted = _v1_name(line[:-1].split(", ")[0])
            header = (name, wanted, number)
            continue
        match = re.match(r'^\s+version:?\s+"?([^"\s]+)"?\s*$', line)
        if header is None or match is None:
            continue
        name, wanted, at = header
        header = None
        version = match.group(1)
        foreign = re.match(r"^(git|https?:|file:|link:|github:|portal:)|^[^@\s]+/[^@\s]+$", wanted)
        if foreign is None and is_semver(version):
            parsed.pin(name, version, at)
        else:
            parsed.skip(source, at, name, _NOT_REGISTRY.format(what=wanted or version))
    if not parsed.packages and not parsed.unchecked and text.strip().strip("#").strip():
        if "yarn lockfile v1" not in text:
            raise ConfigError(f"{source}: not a yarn lockfile (v1 or berry)", source=source)
    return parsed.sorted()


def read_yarn_lock(text: str, source: str) -> ParsedLock:
    """The pins of a ``yarn.lock``: classic (v1) or berry (YAML with ``__metadata``)."""
    if re.search(r"^__metadata:", text, re.MULTILINE):
        return _read_berry(text, source)
    return _read_v1(text, source)


def _jsonc(text: str, source: str) -> Any:
    """bun.lock is JSON with trailing commas."""
    cleaned = re.sub(r",(\s*[}\]])", r"\1", text)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None


def read_bun_lock(text: str, source: str) -> ParsedLock:
    """The pins of a text ``bun.lock`` (``packages``: key -> ``["name@version", ...]``)."""
    data = _jsonc(text, source)
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, dict):
        raise ConfigError(f"{source}: not a bun lockfile (no `packages` object)", source=source)
    lines = {
        m.group(1): number
        for number, line in enumerate(text.splitlines(), start=1)
        if (m := re.match(r'^\s*"([^"]+)"\s*:\s*\[', line))
    }
    parsed = ParsedLock()
    for key, entry in packages.items():
        spec = entry[0] if isinstance(entry, list) and entry and isinstance(entry[0], str) else ""
        name, version = _split_at(spec)
        line = lines.get(key)
        if version.startswith("workspace:"):
            continue
        if name and is_semver(version):
            parsed.pin(name, version, line)
        else:
            parsed.skip(source, line, name or key, _NOT_REGISTRY.format(what=version or "?"))
    return parsed.sorted()
