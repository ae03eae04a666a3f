"""This run against the previous one: new, fixed and still-open findings (pure).

Two findings are the same problem when they are in the same manifest and ecosystem, name
the same package, and share at least one vulnerability id (any alias). The version is
left out on purpose: an upgrade that is still vulnerable keeps the finding open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.manifests import canonical_name
from orchestra_ops.domain.security.reports import findings_from_report


@dataclass(frozen=True)
class Trend:
    """How the findings moved since the previous run."""

    new: tuple[Finding, ...]
    fixed: tuple[Finding, ...]
    still_open: tuple[tuple[Finding, Finding], ...]  # (current, previous)

    @property
    def summary(self) -> str:
        """One line for a report: ``2 new, 1 fixed, 5 still open``."""
        return f"{len(self.new)} new, {len(self.fixed)} fixed, {len(self.still_open)} still open"


def _key(finding: Finding) -> tuple[str, str, str]:
    return (finding.manifest, str(finding.ecosystem), canonical_name(finding.package))


def same_problem(a: Finding, b: Finding) -> bool:
    """Same manifest, ecosystem and package, and overlapping ids (version ignored)."""
    return _key(a) == _key(b) and bool(a.ids & b.ids)


def compare(current: Iterable[Finding], previous: Iterable[Finding]) -> Trend:
    """Match each current finding to at most one previous finding."""
    unmatched = list(previous)
    new: list[Finding] = []
    still_open: list[tuple[Finding, Finding]] = []
    for finding in current:
        match = next((p for p in unmatched if same_problem(finding, p)), None)
        if match is None:
            new.append(finding)
        else:
            unmatched.remove(match)
            still_open.append((finding, match))
    return Trend(tuple(new), tuple(unmatched), tuple(still_open))


def compare_with_report(current: Iterable[Finding], previous: dict[str, Any] | None) -> Trend:
    """Compare with the previous run's JSON report; with none, every finding is new."""
    return compare(current, findings_from_report(previous) if previous is not None else [])
