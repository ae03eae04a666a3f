"""Scanner reports into findings, in the shapes the real tools write (pure, no tool runs)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from orchestra_ops.adapters.scanners.normalise import (
    enrich_with_osv,
    from_npm_audit,
    from_pip_audit,
    from_safety,
    osv_severity,
)
from orchestra_ops.domain.security.findings import Ecosystem, deduplicate
from orchestra_ops.domain.security.remediation import remediation_plan
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.errors import ScanError

PIP_AUDIT: dict[str, Any] = {
    "dependencies": [
        {
            "name": "requests",
            "version": "2.19.0",
            "vulns": [
                {
                    "id": "PYSEC-2018-28",
                    "fix_versions": ["2.20.0"],
                    "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
                    "description": "sends Authorization header on redirect",
                }
            ],
        },
        {"name": "Flask", "version": "2.3.3", "vulns": []},
    ],
    "fixes": [],
}
SAFETY: dict[str, Any] = {
    "report_meta": {"vulnerabilities_found": 1},
    "vulnerabilities": [
        {
            "vulnerability_id": "36546",
            "package_name": "requests",
            "analyzed_version": "2.19.0",
            "vulnerable_spec": "<2.20.0",
            "advisory": "Requests before 2.20.0 ...",
            "fixed_versions": ["2.20.0"],
            "CVE": "CVE-2018-18074",
            "severity": {
                "source": "CVE-2018-18074",
                "cvssv2": {"base_score": 5.0, "vector_string": "AV:N/AC:L/Au:N/C:P/I:N/A:N"},
                "cvssv3": {
                    "base_score": 7.5,
                    "base_severity": "HIGH",
                    "vector_string": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                },
            },
            "is_transitive": False,
        }
    ],
}
NPM: dict[str, Any] = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "minimist": {
            "name": "minimist",
            "severity": "critical",
            "isDirect": False,
            "via": [
                {
                    "source": 1096548,
                    "name": "minimist",
                    "title": "Prototype Pollution in minimist",
                    "url": "https://github.com/advisories/GHSA-xvch-5gv4-984h",
                    "severity": "critical",
                    "cvss": {
                        "score": 9.8,
                        "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    },
                    "range": "<1.2.6",
                }
            ],
            "nodes": ["node_modules/mkdirp/node_modules/minimist"],
        },
        "mkdirp": {
            "name": "mkdirp",
            "severity": "critical",
            "isDirect": True,
            "via": ["minimist"],
            "nodes": ["node_modules/mkdirp"],
        },
    },
}


def test_pip_audit_report_becomes_findings_at_manifest_lines() -> None:
    """Ids and aliases, fixes, canonical names and the manifest line are kept."""
    (finding,) = from_pip_audit(PIP_AUDIT, "requirements.txt", {"requests": 7})
    assert finding.ids == {"PYSEC-2018-28", "CVE-2018-18074", "GHSA-x84v-xcm2-53pg"}
    assert finding.fixed_versions == ("2.20.0",)
    assert (finding.line, finding.severity, finding.tools) == (7, None, {"pip-audit"})


def test_pip_audit_skips_are_scan_errors() -> None:
    """A skipped dependency means the scan did not happen: never a pass."""
    report = {"dependencies": [{"name": "foo", "skip_reason": "could not find on PyPI"}]}
    with pytest.raises(ScanError, match=r"skipped dependencies of r\.txt: foo \(could not"):
        from_pip_audit(report, "r.txt", {})


def test_safety_report_carries_cvss_and_merges_with_pip_audit() -> None:
    """safety's pyup id meets pip-audit's PYSEC on the CVE; the merge keeps the v3 score."""
    safety = from_safety(SAFETY, "requirements.txt", {})
    assert safety[0].severity == Severity.HIGH
    assert safety[0].cvss_score == 7.5
    pip_audit = from_pip_audit(PIP_AUDIT, "requirements.txt", {"requests": 7})
    (merged,) = deduplicate(pip_audit + safety)
    assert merged.tools == {"pip-audit", "safety"}
    assert merged.primary_id == "CVE-2018-18074"
    assert merged.line == 7


def test_npm_report_yields_the_vulnerable_package_not_its_dependents() -> None:
    """minimist is the finding (transitive, version from the lock); mkdirp is only a path."""
    versions = {
        "node_modules/mkdirp/node_modules/minimist": "1.2.5",
        "node_modules/mkdirp": "0.5.5",
    }
    (finding,) = from_npm_audit(NPM, "dashboard/package-lock.json", versions, {})
    assert finding.ecosystem is Ecosystem.NPM
    assert (finding.package, finding.version) == ("minimist", "1.2.5")
    assert finding.ids == {"GHSA-xvch-5gv4-984h"}
    assert finding.severity == Severity.CRITICAL
    assert not finding.direct


@pytest.mark.parametrize(
    "report",
    [
        {"message": "request to http://127.0.0.1:1/ failed, reason: connect ECONNREFUSED"},
        {"error": {"code": "ENOLOCK"}},
        [],
    ],
)
def test_npm_error_reports_are_scan_errors(report: Any) -> None:
    """npm's error JSON (refused connection, no lockfile) is a failure, not a clean scan."""
    with pytest.raises(ScanError, match=re.escape("npm audit failed for app/package-lock.json")):
        from_npm_audit(report, "app/package-lock.json", {}, {})


def test_osv_enrichment_prefers_vectors_and_falls_back_to_labels() -> None:
    """pip-audit findings get severity from the OSV record of any of their ids."""
    records = {
        "GHSA-x84v-xcm2-53pg": {
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"}
            ],
            "database_specific": {"severity": "MODERATE"},
        },
        "GHSA-label-only": {"database_specific": {"severity": "HIGH"}},
    }
    assert osv_severity(records["GHSA-label-only"]) == (Severity.HIGH, None, None)
    findings = from_pip_audit(PIP_AUDIT, "requirements.txt", {})
    (enriched,) = enrich_with_osv(findings, records)
    assert enriched.severity == Severity.MODERATE
    assert enriched.cvss_score == 5.3
    (untouched,) = enrich_with_osv(findings, {})
    assert untouched.severity is None


MINIMIST = NPM["vulnerabilities"]["minimist"]
# minimist installed twice, at 0.2.3 and 1.2.5, under an advisory with two ranges
NPM_TWO_VERSIONS = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "minimist": {
            **MINIMIST,
            "via": [
                {
                    **MINIMIST["via"][0],
                    "cvss": {"score": 9.8, "vectorString": None},
                    "range": ">=1.0.0 <1.2.6 || <0.2.4",
                }
            ],
            "range": "0.2.3 || 1.2.5",
            "nodes": ["node_modules/minimist/node_modules/minimist", "node_modules/minimist"],
        }
    },
}


def test_npm_findings_per_installed_version_with_fixes_from_the_range() -> None:
    """Two installed versions, two findings; each fixed on its own line; no 'no fix known'."""
    versions = {
        "node_modules/minimist": "0.2.3",
        "node_modules/minimist/node_modules/minimist": "1.2.5",
    }
    lines = {"node_modules/minimist": 9, "node_modules/minimist/node_modules/minimist": 3}
    findings = from_npm_audit(NPM_TWO_VERSIONS, "pnpm-lock.yaml", versions, lines)
    assert [(f.version, f.line, f.fixed_versions) for f in findings] == [
        ("0.2.3", 9, ("0.2.4", "1.2.6")),
        ("1.2.5", 3, ("1.2.6",)),
    ]
    plan = remediation_plan(findings)
    assert [(s.current, s.target) for s in plan] == [("0.2.3", "0.2.4"), ("1.2.5", "1.2.6")]
