"""The remediation plan: the smallest fixed version per finding, and per package (pure).

For one finding it is the smallest fixed version above the installed one. For a package
in a manifest it is the largest of those, since every finding must be fixed at once.
npm findings carry their vulnerable range (``<4.17.21``) instead of fixed versions; the
upper bounds of that range are used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from orchestra_ops.domain.security.findings import Finding

_UPPER_BOUND = re.compile(r"<\s*([0-9][^\s|,]*)\s*$")


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def candidate_fixes(finding: Finding) -> list[str]:
    """Fixed versions the advisory names, else the upper bounds of npm's vulnerable range."""
    if finding.fixed_versions:
        return list(finding.fixed_versions)
    vulnerable = finding.extra.get("range", "")
    found = (_UPPER_BOUND.search(part.strip()) for part in vulnerable.split("||"))
    return [match.group(1) for match in found if match]


def smallest_fix(finding: Finding) -> str | None:
    """The smallest fixed version above the finding's version, or None when none is known."""
    installed = _version(finding.version)
    fixes = [(v, text) for text in candidate_fixes(finding) if (v := _version(text)) is not None]
    above = [(v, t) for v, t in fixes if installed is None or v > installed]
    return min(above)[1] if above else None


@dataclass(frozen=True)
class Step:
    """Upgrade one package in one manifest, fixing the listed vulnerabilities."""

    manifest: str
    package: str
    current: str
    target: str | None
    fixes: tuple[str, ...]
    line: int | None = None

    @property
    def text(self) -> str:
        """One human line, e.g. ``requirements.txt:11: requests 2.19.0 -> 2.20.0``."""
        where = f"{self.manifest}:{self.line}" if self.line else self.manifest
        target = self.target or "no fixed version known"
        return f"{where}: {self.package} {self.current} -> {target} ({', '.join(self.fixes)})"


def remediation_plan(findings: Iterable[Finding]) -> list[Step]:
    """One step per (manifest, package, version), sorted; the target fixes every finding."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.manifest, finding.package, finding.version), []).append(finding)
    steps = []
    for (manifest, package, version), group in sorted(groups.items()):
        targets = [smallest_fix(f) for f in group]
        known = [t for t in targets if t is not None]
        # If one finding has no known fix, the upgrade cannot be promised to clear it all.
        target = max(known, key=Version) if known and len(known) == len(targets) else None
        steps.append(
            Step(
                manifest=manifest,
                package=package,
                current=version,
                target=target,
                fixes=tuple(sorted(f.primary_id for f in group)),
                line=next((f.line for f in group if f.line is not None), None),
            )
        )
    return steps


def rewrite_pins(text: str, steps: Iterable[Step], source: str) -> str:
    """``text`` of a requirements file with each step's ``name==current`` raised to its target.

    Only exact pins are touched; the rest of each line (extras, markers, comments) is kept.
    A hashed file is refused: a new version needs new hashes, so it must be recompiled.
    """
    if "--hash" in text:
        raise ValueError(f"{source} pins hashes; recompile it instead (e.g. `make lock`)")
    lines = text.splitlines(keepends=True)
    for step in steps:
        if step.target is None:
            continue
        pattern = re.compile(
            rf"^(\s*{re.escape(step.package)}\s*(\[[^\]]*\])?\s*===?\s*){re.escape(step.current)}\b",
            re.IGNORECASE,
        )
        for index, line in enumerate(lines):
            canonical = re.sub(r"[-_.]+", "-", line.split("=", 1)[0].strip()).lower()
            if canonical.split("[", 1)[0] == step.package and pattern.match(line):
                lines[index] = pattern.sub(rf"\g<1>{step.target}", line, count=1)
    return "".join(lines)
