"""The scan report as JSON (a dict that round-trips) and as a Markdown summary (pure).

The JSON report is what the next run's trend compares against, so
:func:`findings_from_report` reads back exactly what :func:`json_report` wrote.
SARIF and CycloneDX live in :mod:`.sarif` and :mod:`.sbom`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.policy import Policy
from orchestra_ops.domain.security.scan import Gate, ManifestStatus, ScanResult, manifest_statuses
from orchestra_ops.domain.security.severity import Severity

REPORT_SCHEMA = "orchestra-ops/security-report/1"
SEVERITY_ORDER = ("critical", "high", "moderate", "low", "unknown")


def severity_label(finding: Finding) -> str:
    """The finding's own severity label, or ``unknown``."""
    return finding.severity.label if finding.severity is not None else "unknown"


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """One finding as plain JSON data."""
    return {
        "ecosystem": str(finding.ecosystem),
        "package": finding.package,
        "version": finding.version,
        "primary_id": finding.primary_id,
        "ids": sorted(finding.ids),
        "manifest": finding.manifest,
        "line": finding.line,
        "tools": sorted(finding.tools),
        "severity": finding.severity.label if finding.severity is not None else None,
        "cvss_score": finding.cvss_score,
        "cvss_vector": finding.cvss_vector,
        "fixed_versions": list(finding.fixed_versions),
        "direct": finding.direct,
        "summary": finding.summary,
    }


def finding_from_dict(data: dict[str, Any]) -> Finding:
    """The inverse of :func:`finding_to_dict`."""
    severity = data.get("severity")
    return Finding(
        ecosystem=Ecosystem(data["ecosystem"]),
        package=str(data["package"]),
        version=str(data["version"]),
        ids=frozenset(data["ids"]),
        manifest=str(data["manifest"]),
        tools=frozenset(data.get("tools", [])),
        severity=Severity.parse(severity) if severity else None,
        cvss_score=data.get("cvss_score"),
        cvss_vector=data.get("cvss_vector"),
        fixed_versions=tuple(data.get("fixed_versions", [])),
        line=data.get("line"),
        direct=bool(data.get("direct", True)),
        summary=str(data.get("summary", "")),
    )


def _statuses(gate: Gate) -> dict[Finding, str]:
    verdict = gate.verdict
    statuses = {f: "passing" for f in verdict.passing}
    statuses.update({f: "failing" for f in verdict.failing})
    statuses.update({f: "ignored" for f, _ in verdict.ignored})
    return statuses


def json_report(
    result: ScanResult, gate: Gate, policy: Policy, generated_at: dt.datetime
) -> dict[str, Any]:
    """The whole scan as JSON data: findings with their gate status, errors, unsupported."""
    statuses = _statuses(gate)
    ignores = {f: i for f, i in (*gate.verdict.ignored, *gate.verdict.expired)}
    findings = []
    for finding in result.findings:
        entry = {**finding_to_dict(finding), "status": statuses.get(finding, "passing")}
        if finding in ignores:
            ignore = ignores[finding]
            entry["ignore"] = {
                "id": ignore.id,
                "reason": ignore.reason,
                "expires": ignore.expires.isoformat(),
                "expired": finding not in dict(gate.verdict.ignored),
            }
        findings.append(entry)
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": generated_at.isoformat(),
        "passed": gate.passed,
        "policy": {
            "threshold": policy.threshold.label,
            "unknown_severity": policy.unknown_severity.label,
        },
        "summary": {
            "by_severity": severity_counts(result.findings),
            "failing": len(gate.verdict.failing),
            "ignored": len(gate.verdict.ignored),
            "expired_ignores": len(gate.verdict.expired),
            "scan_errors": len(result.failures),
        },
        "manifests": [status_to_dict(s) for s in manifest_statuses(result)],
        "findings": findings,
        "scan_errors": [
            {"tool": f.tool, "manifest": f.manifest, "message": f.message} for f in result.failures
        ],
        "unsupported": [{"path": u.path, "reason": u.reason} for u in result.unsupported],
    }


def status_to_dict(status: ManifestStatus) -> dict[str, Any]:
    """One candidate manifest: scanned (by which tools) or not, and every unchecked line."""
    return {
        "path": status.path,
        "kind": status.kind or None,
        "status": status.status,
        "tools": list(status.tools),
        "packages": status.packages,
        "reason": status.reason,
        "not_checked": [
            {"line": u.line, "name": u.name, "reason": u.reason} for u in status.unchecked
        ],
    }


def manifests_markdown(result: ScanResult) -> list[str]:
    """Markdown lines listing every candidate manifest and every line not checked."""
    statuses = manifest_statuses(result)
    lines = ["", "## Manifests", "", "| Manifest | Status | Scanners | Pins | Note |"]
    lines.append("|---|---|---|---|---|")
    for status in statuses:
        cells = [
            status.path,
            status.status,
            ", ".join(status.tools) or "-",
            str(status.packages) if status.status != "not scanned" else "-",
            status.reason,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    unchecked = [u for status in statuses for u in status.unchecked]
    if unchecked:
        lines += ["", "## Not checked (no exact version to audit)", ""]
        lines += [f"- {u.text}" for u in unchecked]
    return lines


def findings_from_report(report: dict[str, Any]) -> list[Finding]:
    """The findings of a JSON report written by :func:`json_report`; ValueError if damaged."""
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        schema = report.get("schema") if isinstance(report, dict) else None
        raise ValueError(f"not an Orchestra Ops security report (schema {schema!r})")
    try:
        return [finding_from_dict(entry) for entry in report["findings"]]
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        kind = type(error).__name__
        raise ValueError(f"damaged security report: findings: {kind} {error}") from error


def severity_counts(findings: tuple[Finding, ...] | list[Finding]) -> dict[str, int]:
    """Findings per severity label, every label present (0 when none)."""
    counts = Counter(severity_label(f) for f in findings)
    return {label: counts.get(label, 0) for label in SEVERITY_ORDER}
