"""The Markdown summary of a scan: the verdict, counts, what fails, what is ignored (pure)."""

from __future__ import annotations

import re

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.policy import Policy
from orchestra_ops.domain.security.remediation import Step
from orchestra_ops.domain.security.reports import (
    SEVERITY_ORDER,
    manifests_markdown,
    severity_counts,
    severity_label,
)
from orchestra_ops.domain.security.scan import Gate, ScanResult, manifest_statuses
from orchestra_ops.domain.security.trend import Trend

#: Ids the OSV database knows (it aggregates CVE, GHSA, PYSEC and the other feeds).
_OSV_ID = re.compile(r"^(CVE|GHSA|PYSEC|OSV|GSD|RUSTSEC|GO|MAL)-[A-Za-z0-9-]+$")
_OSV_ID_IN_TEXT = re.compile(
    r"\b(?:CVE|GHSA|PYSEC|OSV|GSD|RUSTSEC|GO|MAL)-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
)


def advisory_link(vuln_id: str) -> str:
    """The id as a Markdown link to its OSV page; an id OSV does not know stays text."""
    if _OSV_ID.match(vuln_id):
        return f"[{vuln_id}](https://osv.dev/vulnerability/{vuln_id})"
    return vuln_id


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _location(finding: Finding) -> str:
    return f"{finding.manifest}:{finding.line}" if finding.line else finding.manifest


def _findings_table(findings: tuple[Finding, ...], policy: Policy) -> list[str]:
    lines = [
        "| Severity | Package | Version | Id | Location | Fixed in | Tools |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in findings:
        severity = severity_label(f)
        if f.severity is None:
            severity += f" (counted as {policy.unknown_severity.label})"
        score = f" {f.cvss_score:g}" if f.cvss_score is not None else ""
        cells = [
            severity + score,
            f.package,
            f.version,
            advisory_link(f.primary_id),
            _location(f),
            ", ".join(f.fixed_versions) or "no fix known",
            ", ".join(sorted(f.tools)),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _counts(result: ScanResult) -> list[str]:
    counts = severity_counts(result.findings)
    return [
        "| " + " | ".join(SEVERITY_ORDER) + " |",
        "|" + "---|" * len(SEVERITY_ORDER),
        "| " + " | ".join(str(counts[label]) for label in SEVERITY_ORDER) + " |",
    ]


def _ignores(gate: Gate) -> list[str]:
    lines: list[str] = []
    if gate.verdict.ignored:
        lines += ["", "## Ignored", ""]
        for finding, ignore in gate.verdict.ignored:
            lines.append(
                f"- {advisory_link(finding.primary_id)} in {finding.package} {finding.version} "
                f"({_location(finding)}): {ignore.reason} (until {ignore.expires.isoformat()})"
            )
    if gate.verdict.expired:
        lines += ["", "## Expired ignores (counted again)", ""]
        for finding, ignore in gate.verdict.expired:
            lines.append(
                f"- **{ignore.id}** expired on {ignore.expires.isoformat()}: "
                f"{finding.package} {finding.version} ({_location(finding)}); "
                f"was: {ignore.reason}"
            )
    return lines


def _trend(trend: Trend, chart: str | None) -> list[str]:
    lines = ["", "## Trend", "", chart] if chart else []
    lines += ["", "## Since the previous run", "", f"{trend.summary}."]
    lines += [
        f"- new: {advisory_link(f.primary_id)} in {f.package} {f.version} ({_location(f)})"
        for f in trend.new
    ]
    lines += [
        f"- fixed: {advisory_link(f.primary_id)} in {f.package} ({f.manifest})" for f in trend.fixed
    ]
    return lines


def linked(text: str) -> str:
    """``text`` with every advisory id in it made a link (see :func:`advisory_link`)."""
    return _OSV_ID_IN_TEXT.sub(lambda m: advisory_link(m.group(0)), text)


def _remediation(steps: list[Step]) -> list[str]:
    return ["", "## Remediation", "", *(f"- {linked(step.text)}" for step in steps)]


def markdown_summary(
    result: ScanResult,
    gate: Gate,
    policy: Policy,
    *,
    trend: Trend | None = None,
    remediation: list[Step] | None = None,
    chart: str | None = None,
) -> str:
    """A Markdown summary for a Prefect artifact or a pull-request comment.

    ``chart`` is a Markdown image of the findings per scan (see trend_chart), shown with
    the trend.
    """
    verdict = "PASSED" if gate.passed else "FAILED"
    statuses = manifest_statuses(result)
    scanned = sum(1 for s in statuses if s.scanned)
    not_scanned = len(statuses) - scanned
    entries = f"{len(result.unchecked)} {'entry' if len(result.unchecked) == 1 else 'entries'}"
    if not scanned:
        verdict += " (nothing scanned)"
    elif result.unchecked:  # the pass holds for what was checked, not for these
        verdict += f" ({entries} not checked)"
    unchecked = f", {entries} not checked (listed under Manifests)" if result.unchecked else ""
    lines = [
        f"# Dependency security scan: {verdict}",
        "",
        f"{scanned} manifests scanned, {not_scanned} not scanned{unchecked}, "
        f"{len(result.findings)} finding{'' if len(result.findings) == 1 else 's'}; "
        f"threshold {policy.threshold.label}, unknown severity counted as "
        f"{policy.unknown_severity.label}.",
        "",
    ]
    if not statuses:
        lines += ["Nothing to scan: no dependency manifest was found in the repository.", ""]
    elif not scanned:
        lines += [
            f"Nothing was scanned: none of the {not_scanned} candidate files could be audited "
            "(see Manifests for why); the pass says nothing about their dependencies.",
            "",
        ]
    lines += [
        "## Findings by severity",
        "",
        *_counts(result),
    ]
    if gate.verdict.failing:
        lines += ["", "## Failing findings", "", *_findings_table(gate.verdict.failing, policy)]
    lines += _ignores(gate)
    if result.failures:
        lines += ["", "## Scan errors (the gate fails until they are fixed)", ""]
        for failure in result.failures:
            first = failure.message.splitlines()[0] if failure.message else ""
            lines.append(f"- {failure.tool} on {failure.manifest}: {first}")
    lines += manifests_markdown(result)  # every candidate, scanned or not, and unchecked lines
    if trend is not None:
        lines += _trend(trend, chart)
    if remediation:
        lines += _remediation(remediation)
    return "\n".join(lines) + "\n"
