"""The ``security-findings-<repo>`` table artifact: one row per finding, and its description.

Prefect's UI renders a string cell of a table artifact as Markdown (its table view passes
each string cell to its Markdown renderer), so the id cell is a link to the advisory.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.markdown import advisory_link
from orchestra_ops.domain.security.reports import severity_label


def findings_rows(
    findings: Iterable[Finding], failing: Collection[Finding]
) -> list[dict[str, str]]:
    """One row per finding: the id linked to its advisory, package, severity, whether it
    fails the gate, where it is, and which tools reported it."""
    return [
        {
            "id": advisory_link(f.primary_id),
            "package": f"{f.package} {f.version}",
            "severity": severity_label(f),
            "status": "failing" if f in failing else "below threshold",
            "manifest": f"{f.manifest}:{f.line}" if f.line else f.manifest,
            "tools": ", ".join(sorted(f.tools)),
        }
        for f in findings
    ]


def findings_description(
    repo: str, findings: int, failing: int, threshold: str, scan_errors: int
) -> str:
    """What the table is, in one Markdown paragraph (scan errors said: then it is partial)."""
    text = (
        f"Vulnerable dependencies found by the last scan of **{repo}**: {findings} findings, "
        f"{failing} at or above the threshold ({threshold}). Each id links to its advisory."
    )
    if scan_errors:
        text += (
            f" **{scan_errors} scan errors**: some manifests were not fully scanned, so this "
            "list is incomplete (see the security summary)."
        )
    return text
