"""The findings table artifact: ids linked to their advisories, and a description."""

from __future__ import annotations

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.findings_table import findings_description, findings_rows
from orchestra_ops.domain.security.severity import Severity


def _finding(ids: set[str], severity: Severity, line: int | None = None) -> Finding:
    return Finding(
        ecosystem=Ecosystem.PYPI,
        package="requests",
        version="2.19.0",
        ids=frozenset(ids),
        manifest="requirements.txt",
        tools=frozenset({"pip-audit", "safety"}),
        severity=severity,
        line=line,
    )


def test_ids_link_to_their_osv_advisory_and_failing_is_marked() -> None:
    high = _finding({"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"}, Severity.HIGH, line=3)
    low = _finding({"PYSEC-2023-74"}, Severity.LOW)
    rows = findings_rows([high, low], {high})
    assert rows[0] == {
        "id": "[CVE-2018-18074](https://osv.dev/vulnerability/CVE-2018-18074)",
        "package": "requests 2.19.0",
        "severity": "high",
        "status": "failing",
        "manifest": "requirements.txt:3",
        "tools": "pip-audit, safety",
    }
    assert rows[1]["id"] == "[PYSEC-2023-74](https://osv.dev/vulnerability/PYSEC-2023-74)"
    assert rows[1]["status"] == "below threshold"


def test_the_description_says_what_the_table_is_and_when_it_is_incomplete() -> None:
    clean = findings_description("orchestra-main", 7, 3, "high", 0)
    assert clean.startswith("Vulnerable dependencies found by the last scan of **orchestra-main**")
    assert "7 findings, 3 at or above the threshold (high)" in clean
    assert "scan errors" not in clean
    broken = findings_description("orchestra-main", 7, 3, "high", 2)
    assert "**2 scan errors**" in broken and "incomplete" in broken
