"""One finding model for every scanner, and deduplication across scanners.

pip-audit, safety and npm audit each name the same vulnerability differently (PYSEC,
pyup, GHSA, CVE ids). Findings of one package version in one manifest are merged when
their id sets overlap (transitively: a PYSEC~CVE and a CVE~GHSA pair join all three).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from orchestra_ops.domain.security.severity import Severity

_ID_PREFERENCE = ("CVE-", "GHSA-", "PYSEC-")


class Ecosystem(StrEnum):
    """Package ecosystems, spelt as OSV spells them."""

    PYPI = "PyPI"
    NPM = "npm"


@dataclass(frozen=True)
class Finding:
    """One vulnerability in one package version of one manifest."""

    ecosystem: Ecosystem
    package: str
    version: str
    ids: frozenset[str]
    manifest: str
    tools: frozenset[str]
    severity: Severity | None = None
    cvss_score: float | None = None
    cvss_vector: str | None = None
    fixed_versions: tuple[str, ...] = ()
    line: int | None = None
    direct: bool = True
    summary: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def primary_id(self) -> str:
        """The id reports lead with: a CVE, else a GHSA, else a PYSEC, else the smallest."""
        return primary_id(self.ids)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every id but the primary, sorted."""
        return tuple(sorted(self.ids - {self.primary_id}))


def primary_id(ids: Iterable[str]) -> str:
    """The preferred id of a set: CVE, then GHSA, then PYSEC, then the rest, sorted."""
    candidates = sorted(ids)
    if not candidates:
        raise ValueError("a finding needs at least one id")
    for prefix in _ID_PREFERENCE:
        matching = [i for i in candidates if i.startswith(prefix)]
        if matching:
            return matching[0]
    return candidates[0]


def _merge_two(a: Finding, b: Finding) -> Finding:
    scored = [f for f in (a, b) if f.cvss_score is not None]
    best = max(scored, key=lambda f: f.cvss_score or 0.0) if scored else None
    severities = [f.severity for f in (a, b) if f.severity is not None]
    return Finding(
        ecosystem=a.ecosystem,
        package=a.package,
        version=a.version,
        ids=a.ids | b.ids,
        manifest=a.manifest,
        tools=a.tools | b.tools,
        severity=max(severities) if severities else None,
        cvss_score=best.cvss_score if best else None,
        cvss_vector=best.cvss_vector if best else None,
        fixed_versions=tuple(sorted(set(a.fixed_versions) | set(b.fixed_versions))),
        line=a.line if a.line is not None else b.line,
        direct=a.direct or b.direct,
        summary=a.summary or b.summary,
        extra={**b.extra, **a.extra},
    )


def deduplicate(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings of the same package version and manifest whose ids overlap.

    The result is sorted (manifest, package, primary id) so reports are deterministic.
    """
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for finding in findings:
        key = (finding.manifest, finding.ecosystem, finding.package.lower(), finding.version)
        merged = finding
        survivors = []
        for other in groups.get(key, []):
            if other.ids & merged.ids:
                merged = _merge_two(merged, other)
            else:
                survivors.append(other)
        groups[key] = [*survivors, merged]
    result = [f for group in groups.values() for f in group]
    return sorted(result, key=lambda f: (f.manifest, f.package.lower(), f.primary_id))
