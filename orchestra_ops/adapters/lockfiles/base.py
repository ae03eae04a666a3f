"""What a lockfile reader returns, and helpers every reader shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestra_ops.domain.security.manifests import LockedPackage, Unchecked

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@dataclass
class ParsedLock:
    """Exact pins of one lockfile, and the entries that cannot be audited."""

    packages: list[LockedPackage] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    def pin(self, name: str, version: str, line: int | None) -> None:
        """Add ``name==version`` once (a package reached twice is audited once)."""
        if not any(p.name == name and p.version == version for p in self.packages):
            self.packages.append(LockedPackage(name, version, line))

    def skip(self, source: str, line: int | None, name: str, reason: str) -> None:
        """Record an entry no scanner checks."""
        self.unchecked.append(Unchecked(source, line, name, reason))

    def sorted(self) -> ParsedLock:
        """Deterministic order: by name, version; unchecked by line."""
        self.packages.sort(key=lambda p: (p.name, p.version))
        self.unchecked.sort(key=lambda u: (u.line or 0, u.name))
        return self


def is_semver(version: str) -> bool:
    """True for a plain ``1.2.3`` (pre-release and build allowed): a registry version."""
    return bool(_SEMVER.match(version))


def first_line(lines: list[str], pattern: re.Pattern[str], start: int = 0) -> int | None:
    """The 1-based number of the first line at or after ``start`` matching ``pattern``."""
    for index in range(start, len(lines)):
        if pattern.search(lines[index]):
            return index + 1
    return None
