"""SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability, one result per finding.

GitHub reads a rule's ``properties.security-severity`` (a CVSS score as a string) to rank
alerts; a result's ``level`` comes from the severity. Locations point at the manifest line
that pins the package (line 1 when it is not known: SARIF lines start at 1).

Coverage is part of the log: every candidate manifest is an ``artifacts`` entry with its
status, and each manifest not scanned, each scan error and each line not checked is a
tool execution notification at its file and line, so a skip is never silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.scan import ManifestStatus
from orchestra_ops.domain.security.severity import Severity

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
TOOL_NAME = "orchestra-ops"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MODERATE: "warning",
    Severity.LOW: "note",
}


def advisory_url(vuln_id: str) -> str:
    """A human page for an id: GitHub advisories, NVD, or OSV."""
    if vuln_id.startswith("GHSA-"):
        return f"https://github.com/advisories/{vuln_id}"
    if vuln_id.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{vuln_id}"
    return f"https://osv.dev/vulnerability/{vuln_id}"


def level(finding: Finding) -> str:
    """The SARIF level of a finding; unknown severity is a warning."""
    return _LEVELS.get(finding.severity, "warning") if finding.severity else "warning"


def _rule(finding: Finding) -> dict[str, Any]:
    title = finding.summary.splitlines()[0][:200] if finding.summary else finding.primary_id
    properties: dict[str, Any] = {"tags": ["security", "dependency", str(finding.ecosystem)]}
    if finding.cvss_score is not None:
        properties["security-severity"] = f"{finding.cvss_score:.1f}"
    rule: dict[str, Any] = {
        "id": finding.primary_id,
        "name": finding.primary_id.replace("-", ""),
        "shortDescription": {"text": f"{finding.primary_id}: {title}"},
        "fullDescription": {"text": finding.summary or finding.primary_id},
        "helpUri": advisory_url(finding.primary_id),
        "help": {"text": f"Aliases: {', '.join(finding.aliases) or 'none'}."},
        "properties": properties,
    }
    if finding.severity is not None:
        rule["defaultConfiguration"] = {"level": level(finding)}
    return rule


def _message(finding: Finding) -> str:
    severity = finding.severity.label if finding.severity else "unknown severity"
    score = f", CVSS {finding.cvss_score:g}" if finding.cvss_score is not None else ""
    fix = (
        f"; fixed in {', '.join(finding.fixed_versions)}"
        if finding.fixed_versions
        else "; no fixed version known"
    )
    return (
        f"{finding.package} {finding.version} is affected by {finding.primary_id} "
        f"({severity}{score}){fix}."
    )


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    return {
        "ruleId": finding.primary_id,
        "ruleIndex": rule_index,
        "level": level(finding),
        "message": {"text": _message(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.manifest, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(finding.line or 1, 1)},
                }
            }
        ],
        "partialFingerprints": {
            "packageVulnerability/v1": (
                f"{finding.ecosystem}/{finding.package}/{finding.primary_id}/{finding.manifest}"
            )
        },
        "properties": {
            "package": finding.package,
            "version": finding.version,
            "ids": sorted(finding.ids),
            "tools": sorted(finding.tools),
        },
    }


def _where(path: str, line: int | None) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": path, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(line or 1, 1)},
        }
    }


def _notifications(statuses: Sequence[ManifestStatus]) -> list[dict[str, Any]]:
    found = []
    for status in statuses:
        if status.status in ("not scanned", "scan error"):
            level = "error" if status.status == "scan error" else "warning"
            text = f"{status.path}: {status.status}: {status.reason}"
            found.append(
                {
                    "level": level,
                    "message": {"text": text},
                    "locations": [_where(status.path, None)],
                }
            )
        for unchecked in status.unchecked:
            found.append(
                {
                    "level": "warning",
                    "message": {"text": f"not checked: {unchecked.text}"},
                    "locations": [_where(unchecked.manifest, unchecked.line)],
                }
            )
    return found


def _coverage(statuses: Sequence[ManifestStatus]) -> dict[str, Any]:
    artifacts = [
        {
            "location": {"uri": s.path, "uriBaseId": "%SRCROOT%"},
            "properties": {
                "status": s.status,
                "scanners": list(s.tools),
                "packages": s.packages,
                "reason": s.reason,
            },
        }
        for s in statuses
    ]
    invocation = {
        "executionSuccessful": not any(s.status == "scan error" for s in statuses),
        "toolExecutionNotifications": _notifications(statuses),
    }
    return {"artifacts": artifacts, "invocations": [invocation]}


def sarif_log(
    findings: list[Finding] | tuple[Finding, ...],
    tool_version: str,
    statuses: Sequence[ManifestStatus] = (),
) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run of ``orchestra-ops``; ``statuses`` give its coverage."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for finding in findings:
        if finding.primary_id not in index:
            index[finding.primary_id] = len(rules)
            rules.append(_rule(finding))
        results.append(_result(finding, index[finding.primary_id]))
    driver = {
        "name": TOOL_NAME,
        "version": tool_version,
        "rules": rules,
    }
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                "results": results,
                **(_coverage(statuses) if statuses else {}),
            }
        ],
    }
