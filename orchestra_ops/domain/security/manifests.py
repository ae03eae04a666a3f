"""Read what a manifest pins, and where: requirements files and npm lockfiles.

Pure: text in, pins out. Used to place findings at manifest lines (for SARIF) and to
tell which requirements files can be audited without resolving (every line ``==``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from orchestra_ops.errors import ConfigError

_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(===?|>=|<=|~=|!=|>|<)?\s*([^\s;#\\]*)"
)


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One requirement line: name, operator and version, and its 1-based line number."""

    name: str
    operator: str | None
    version: str | None
    line: int

    @property
    def exact(self) -> bool:
        """True for ``name==version`` (or ``===``)."""
        return (
            self.operator in ("==", "===")
            and bool(self.version)
            and "*" not in (self.version or "")
        )


def parse_requirements(text: str, source: str) -> list[Pin]:
    """Requirements of a pip requirements file; options and includes are left out."""
    pins = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "--")) or "://" in line:
            continue
        match = _REQUIREMENT.match(line)
        if match is None:
            shown = line if len(line) <= 80 else f"{line[:80]}..."  # never echo a huge line
            raise ConfigError(f"{source}:{number}: cannot read requirement {shown!r}")
        name, _, operator, version = match.groups()
        pins.append(Pin(canonical_name(name), operator, version or None, number))
    return pins


def unpinned(pins: list[Pin]) -> list[Pin]:
    """Requirements that are not exact pins (they would need resolving)."""
    return [p for p in pins if not p.exact]


def npm_lock_versions(text: str, source: str) -> dict[str, str]:
    """``node_modules/...`` path -> version of a package-lock.json (lockfileVersion 2/3)."""
    try:
        lock = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if not isinstance(packages, dict):
        raise ConfigError(
            f"{source}: no `packages` section (lockfileVersion 1 is not supported; "
            "regenerate it with npm 7 or newer)"
        )
    return {
        path: str(entry["version"])
        for path, entry in packages.items()
        if path and isinstance(entry, dict) and "version" in entry
    }


def line_of(text: str, needle: str) -> int | None:
    """The first 1-based line containing ``needle``, or None."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None
