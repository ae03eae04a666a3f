"""Python lockfiles: ``poetry.lock`` and ``uv.lock`` (TOML), ``Pipfile.lock`` (JSON).

Registry packages become exact pins; git, URL, file and local-directory packages are
listed as unchecked (there is no released version to look up). The project's own
package in a uv lock (``editable``/``virtual`` source) is listed too, as local code.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from orchestra_ops.adapters.lockfiles.base import ParsedLock
from orchestra_ops.domain.security.manifests import canonical_name
from orchestra_ops.errors import ConfigError

_LOCAL = "a local package (its own code), not a published release: nothing to look up"
_NOT_REGISTRY = "installed from {kind}, not a package index: no released version to look up"


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}", source=source) from None


def _package_lines(text: str) -> dict[str, list[int]]:
    """Canonical name -> the 1-based ``name = "..."`` lines of ``[[package]]`` tables."""
    lines: dict[str, list[int]] = {}
    in_package = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_package = stripped == "[[package]]"
            continue
        match = re.match(r'name\s*=\s*"([^"]+)"', stripped)
        if in_package and match:
            lines.setdefault(canonical_name(match.group(1)), []).append(number)
            in_package = False
    return lines


def _packages(data: dict[str, Any], source: str) -> list[dict[str, Any]]:
    packages = data.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise ConfigError(f"{source}: `package` is not a list of tables", source=source)
    return packages


def _read_toml_lock(text: str, source: str, source_kind: Any) -> ParsedLock:
    parsed = ParsedLock()
    lines = _package_lines(text)
    seen: dict[str, int] = {}
    for package in _packages(_toml(text, source), source):
        name = canonical_name(str(package.get("name", "")))
        if not name:
            raise ConfigError(f"{source}: a [[package]] has no name", source=source)
        index = seen.get(name, 0)
        seen[name] = index + 1
        found = lines.get(name, [])
        line = found[index] if index < len(found) else None
        kind = source_kind(package)
        version = str(package.get("version", ""))
        if kind == "local":
            parsed.skip(source, line, name, _LOCAL)
        elif kind is not None:
            parsed.skip(source, line, name, _NOT_REGISTRY.format(kind=kind))
        elif not version:
            parsed.skip(source, line, name, "no version in the lock")
        else:
            parsed.pin(name, version, line)
    return parsed.sorted()


def _poetry_source(package: dict[str, Any]) -> str | None:
    source = package.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind in (None, "legacy"):
        return None  # the default index, or a private index (still a released version)
    return "local" if kind == "directory" and package.get("develop") else str(kind)


def _uv_source(package: dict[str, Any]) -> str | None:
    source = package.get("source")
    if not isinstance(source, dict) or "registry" in source:
        return None
    if {"editable", "virtual"} & set(source):
        return "local"
    return next(iter(source), "an unknown source")


def read_poetry_lock(text: str, source: str) -> ParsedLock:
    """The pins of a ``poetry.lock``."""
    return _read_toml_lock(text, source, _poetry_source)


def read_uv_lock(text: str, source: str) -> ParsedLock:
    """The pins of a ``uv.lock``."""
    return _read_toml_lock(text, source, _uv_source)


def read_pipfile_lock(text: str, source: str) -> ParsedLock:
    """The pins of a ``Pipfile.lock`` (its ``default`` and ``develop`` sections)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: not a Pipfile.lock (not an object)", source=source)
    parsed = ParsedLock()
    text_lines = text.splitlines()
    for section in ("default", "develop"):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"{source}: `{section}` is not an object", source=source)
        start = next((i for i, t in enumerate(text_lines) if f'"{section}"' in t), 0)
        for raw_name, entry in entries.items():
            name = canonical_name(raw_name)
            key = re.compile(rf'^\s*"{re.escape(raw_name)}"\s*:')
            line = next(
                (i + 1 for i in range(start, len(text_lines)) if key.search(text_lines[i])), None
            )
            version = str(entry.get("version", "")) if isinstance(entry, dict) else ""
            if version.startswith("=="):
                parsed.pin(name, version[2:], line)
            elif isinstance(entry, dict) and (entry.get("path") or entry.get("editable")):
                parsed.skip(source, line, name, _LOCAL)
            else:
                kind = next(
                    (k for k in ("git", "file", "url") if isinstance(entry, dict) and k in entry),
                    "an unpinned entry",
                )
                parsed.skip(source, line, name, _NOT_REGISTRY.format(kind=kind))
    return parsed.sorted()
