"""Reports of a scan: SARIF (against the official schema), CycloneDX, Markdown, JSON,
the trend against the previous report, and the remediation plan."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace

import pytest

from orchestra_ops.adapters.schema_validation import validate_cyclonedx, validate_sarif
from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.manifests import Unchecked, read_requirements
from orchestra_ops.domain.security.markdown import markdown_summary
from orchestra_ops.domain.security.policy import Ignore, Policy
from orchestra_ops.domain.security.remediation import lowest_clearing, remediation_plan
from orchestra_ops.domain.security.reports import findings_from_report, json_report
from orchestra_ops.domain.security.sarif import sarif_log
from orchestra_ops.domain.security.sbom import cyclonedx_sbom
from orchestra_ops.domain.security.scan import (
    Component,
    Manifest,
    ManifestKind,
    ScanResult,
    ToolOutcome,
    Unsupported,
    combine,
    components_of,
    manifest_statuses,
)
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.domain.security.trend import compare, compare_with_report

TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
REQS = "infrastructure/pulumi/requirements.txt"
ROOT_REQS = "requirements.txt"
LOCK = "dashboard/package-lock.json"
REQS_TEXT = "jinja2==2.10\nrequests==2.19.0\nurllib3==1.23\n"
ROOT_TEXT = "urllib3==1.24.1\npyyaml==5.3\n"


def pypi(package: str, version: str, ids: set[str], manifest: str = REQS, **kw: object) -> Finding:
    """A PyPI finding reported by pip-audit and safety."""
    return Finding(
        ecosystem=Ecosystem.PYPI,
        package=package,
        version=version,
        ids=frozenset(ids),
        manifest=manifest,
        tools=frozenset({"pip-audit", "safety"}),
        **kw,  # type: ignore[arg-type]
    )


REQUESTS = pypi(
    "requests",
    "2.19.0",
    {"PYSEC-2018-28", "CVE-2018-18074", "GHSA-x84v-xcm2-53pg", "36546"},
    severity=Severity.HIGH,
    cvss_score=7.5,
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    fixed_versions=("2.20.0",),
    line=2,
    summary="Requests sends an Authorization header to an http URI upon redirect",
)
URLLIB3_UNKNOWN = pypi(
    "urllib3", "1.23", {"PYSEC-2019-132", "CVE-2019-11236", "37071"}, fixed_versions=("1.24.3",)
)
URLLIB3_ROOT = replace(URLLIB3_UNKNOWN, version="1.24.1", manifest=ROOT_REQS, line=1)
PYYAML = pypi(
    "pyyaml",
    "5.3",
    {"PYSEC-2020-96", "CVE-2020-1747", "GHSA-6757-jp84-gxfx"},
    manifest=ROOT_REQS,
    severity=Severity.CRITICAL,
    cvss_score=9.8,
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    fixed_versions=("5.3.1", "5.4"),
    line=2,
)
LODASH = Finding(
    ecosystem=Ecosystem.NPM,
    package="lodash",
    version="4.17.20",
    ids=frozenset({"GHSA-29mw-wpgm-hmr9"}),
    manifest=LOCK,
    tools=frozenset({"npm-audit"}),
    severity=Severity.MODERATE,
    cvss_score=5.3,
    cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
    line=14,
    extra={"range": "<4.17.21"},
)
POLICY = Policy(
    ignores=(
        Ignore("CVE-2020-1747", "loader is SafeLoader only", dt.date(2026, 12, 31)),
        Ignore("GHSA-29mw-wpgm-hmr9", "dev only", dt.date(2026, 1, 31)),
    )
)
MANIFESTS = [
    Manifest(REQS, ManifestKind.REQUIREMENTS),
    Manifest(ROOT_REQS, ManifestKind.REQUIREMENTS),
    Manifest(LOCK, ManifestKind.NPM_LOCK),
]


@pytest.fixture
def result() -> ScanResult:
    """Three manifests, five findings, one safety failure, one unsupported lockfile."""
    components = components_of(MANIFESTS[0], read_requirements(REQS_TEXT, REQS).exact)
    components += components_of(MANIFESTS[1], read_requirements(ROOT_TEXT, ROOT_REQS).exact)
    components.append(Component(Ecosystem.NPM, "lodash", "4.17.20", LOCK))
    outcomes = [
        ToolOutcome("pip-audit", REQS, findings=(REQUESTS, URLLIB3_UNKNOWN)),
        ToolOutcome("pip-audit", ROOT_REQS, findings=(URLLIB3_ROOT, PYYAML)),
        ToolOutcome("npm-audit", LOCK, findings=(LODASH,)),
        ToolOutcome("safety", ROOT_REQS, failure="safety failed on requirements.txt (exit 67)"),
    ]
    unsupported = [Unsupported("admin-interface/pnpm-lock.yaml", "a pnpm lockfile")]
    return combine(MANIFESTS, outcomes, unsupported, components)


# --- SARIF ---------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_official_schema(result: ScanResult) -> None:
    """The log validates; one rule per vulnerability; results point at manifest lines."""
    log = sarif_log(result.findings, "0.1.0")
    assert validate_sarif(log) == []
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "orchestra-ops"
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == sorted(set(rule_ids))  # the urllib3 CVE has one rule...
    results = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r
        for r in run["results"]
    }
    assert len(run["results"]) == 5  # ...and a result in each manifest
    requests = results[("CVE-2018-18074", REQS)]
    assert requests["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    assert requests["level"] == "error"
    assert rule_ids[requests["ruleIndex"]] == "CVE-2018-18074"
    rule = run["tool"]["driver"]["rules"][requests["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "7.5"
    unknown = results[("CVE-2019-11236", REQS)]
    assert unknown["locations"][0]["physicalLocation"]["region"]["startLine"] == 1  # no line known
    assert unknown["level"] == "warning"
    assert results[("GHSA-29mw-wpgm-hmr9", LOCK)]["level"] == "warning"
    assert results[("CVE-2020-1747", ROOT_REQS)]["level"] == "error"


def test_the_sarif_schema_rejects_what_github_would(result: ScanResult) -> None:
    """The validator is not a rubber stamp: a 0 line and a missing message are errors."""
    log = sarif_log(result.findings, "0.1.0")
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del broken["runs"][0]["results"][1]["message"]
    problems = validate_sarif(broken)
    assert any("startLine" in p for p in problems)
    assert any("'message' is a required property" in p for p in problems)


# --- CycloneDX -------------------------------------------------------------------------------


def test_cyclonedx_sbom_is_valid_and_lists_what_was_scanned(result: ScanResult) -> None:
    """Components by purl, vulnerabilities with ratings affecting those components."""
    serial = uuid.UUID("3e671687-395b-41f5-a30f-a58921a69b79")
    bom = cyclonedx_sbom(
        result, subject="orchestra-main", tool_version="0.1.0", timestamp=NOW, serial=serial
    )
    assert validate_cyclonedx(bom) == []
    assert bom["specVersion"] == "1.6" and bom["serialNumber"] == serial.urn
    refs = {c["bom-ref"] for c in bom["components"]}
    assert {"pkg:pypi/requests@2.19.0", "pkg:pypi/jinja2@2.10", "pkg:npm/lodash@4.17.20"} <= refs
    assert len(refs) == len(bom["components"])
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert vulns["CVE-2018-18074"]["ratings"] == [
        {
            "severity": "high",
            "score": 7.5,
            "method": "CVSSv31",
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        }
    ]
    assert vulns["CVE-2019-11236"]["ratings"] == [{"severity": "unknown"}]
    assert all(a["ref"] in refs for v in bom["vulnerabilities"] for a in v["affects"])
    assert validate_cyclonedx({**bom, "specVersion": "1.6", "bogus": True}) != []


# --- JSON and Markdown ------------------------------------------------------------------------


def test_json_report_round_trips(result: ScanResult) -> None:
    """What the report writes, the next run reads back unchanged."""
    gate = result.gate(POLICY, TODAY)
    report = json.loads(json.dumps(json_report(result, gate, POLICY, NOW)))
    assert findings_from_report(report) == list(result.findings)
    assert report["passed"] is False
    assert report["summary"]["by_severity"] == {
        "critical": 1,
        "high": 1,
        "moderate": 1,
        "low": 0,
        "unknown": 2,
    }
    statuses = {(f["package"], f["manifest"]): f["status"] for f in report["findings"]}
    assert statuses[("pyyaml", ROOT_REQS)] == "ignored"
    assert statuses[("requests", REQS)] == "failing"
    lodash = next(f for f in report["findings"] if f["package"] == "lodash")
    assert lodash["ignore"]["expired"] is True
    assert report["scan_errors"] == [
        {
            "tool": "safety",
            "manifest": ROOT_REQS,
            "message": "safety failed on requirements.txt (exit 67)",
        }
    ]
    with pytest.raises(ValueError, match="not an Orchestra Ops security report"):
        findings_from_report({"schema": "other", "findings": []})


def test_markdown_summary_calls_out_what_matters(result: ScanResult) -> None:
    """Verdict, counts, failing table, ignored and expired ignores, errors, unsupported."""
    text = markdown_summary(result, result.gate(POLICY, TODAY), POLICY)
    assert text.startswith("# Dependency security scan: FAILED\n")
    assert "| critical | high | moderate | low | unknown |" in text
    assert "| 1 | 1 | 1 | 0 | 2 |" in text
    requests = "[CVE-2018-18074](https://osv.dev/vulnerability/CVE-2018-18074)"
    assert f"| high 7.5 | requests | 2.19.0 | {requests} | {REQS}:2 | 2.20.0 |" in text
    urllib3 = "[CVE-2019-11236](https://osv.dev/vulnerability/CVE-2019-11236)"
    assert f"| unknown (counted as high) | urllib3 | 1.23 | {urllib3} |" in text
    assert "## Ignored" in text and "loader is SafeLoader only (until 2026-12-31)" in text
    assert "## Expired ignores (counted again)" in text
    assert "**GHSA-29mw-wpgm-hmr9** expired on 2026-01-31" in text
    assert "- safety on requirements.txt: safety failed on requirements.txt (exit 67)" in text
    assert "| admin-interface/pnpm-lock.yaml | not scanned | - | - | a pnpm lockfile |" in text
    assert f"| {REQS} | scanned | pip-audit | 3 |  |" in text  # every manifest listed


@pytest.mark.parametrize(
    ("unsupported", "says"),
    [
        ((), "Nothing to scan: no dependency manifest was found in the repository."),
        (
            (Unsupported("web/package.json", "package.json has no lockfile"),),
            "Nothing was scanned: none of the 1 candidate files could be audited",
        ),
    ],
)
def test_a_scan_that_audited_nothing_says_so(
    unsupported: tuple[Unsupported, ...], says: str
) -> None:
    """A pass over nothing is not a clean repository: the headline and a line say so."""
    empty = combine([], [], unsupported)
    text = markdown_summary(empty, empty.gate(POLICY, TODAY), POLICY)
    assert text.startswith("# Dependency security scan: PASSED (nothing scanned)\n"), text
    assert f"0 manifests scanned, {len(unsupported)} not scanned, 0 findings" in text
    assert says in text


# --- trend -----------------------------------------------------------------------------------


def test_trend_against_the_previous_json_report(result: ScanResult) -> None:
    """Matched by package and any shared id; an upgrade that is still vulnerable stays open."""
    previous_findings = [
        replace(REQUESTS, version="2.18.0", ids=frozenset({"PYSEC-2018-28"})),
        pypi("jinja2", "2.10", {"PYSEC-2019-217", "CVE-2019-10906"}),
    ]
    previous = combine(MANIFESTS, [ToolOutcome("pip-audit", REQS, tuple(previous_findings))])
    stored = json.dumps(json_report(previous, previous.gate(POLICY, TODAY), POLICY, NOW))
    trend = compare_with_report(result.findings, json.loads(stored))
    assert [(c.package, p.version) for c, p in trend.still_open] == [("requests", "2.18.0")]
    assert [f.package for f in trend.fixed] == ["jinja2"]
    assert sorted(f.package for f in trend.new) == ["lodash", "pyyaml", "urllib3", "urllib3"]
    assert trend.summary == "4 new, 1 fixed, 1 still open"
    assert compare([], []).summary == "0 new, 0 fixed, 0 still open"
    assert compare_with_report(result.findings, None).summary == "5 new, 0 fixed, 0 still open"
    text = markdown_summary(
        result,
        result.gate(POLICY, TODAY),
        POLICY,
        trend=trend,
        remediation=remediation_plan(result.gate(POLICY, TODAY).verdict.failing),
    )
    assert "## Since the previous run\n\n4 new, 1 fixed, 1 still open." in text
    jinja2 = "[CVE-2019-10906](https://osv.dev/vulnerability/CVE-2019-10906)"
    assert f"- fixed: {jinja2} in jinja2 ({REQS})" in text
    fix = f"- {REQS}:2: requests 2.19.0 -> 2.20.0 ([CVE-2018-18074](https://osv.dev/vulnerability/CVE-2018-18074))"
    assert fix in text


# --- remediation -----------------------------------------------------------------------------


def test_remediation_picks_the_smallest_fix_above_the_installed_version() -> None:
    """Per finding the smallest fix; per package the largest of those; npm from its range."""
    assert lowest_clearing(PYYAML.version, [PYYAML]) == "5.3.1"
    patched = replace(PYYAML, version="5.3.1", fixed_versions=("5.3.1", "5.4"))
    assert lowest_clearing(patched.version, [patched]) == "5.4"
    assert lowest_clearing(LODASH.version, [LODASH]) == "4.17.21"
    unfixed = replace(REQUESTS, fixed_versions=())
    assert lowest_clearing(unfixed.version, [unfixed]) is None
    other = pypi("urllib3", "1.23", {"PYSEC-2019-133"}, fixed_versions=("1.24.2",), line=3)
    plan = remediation_plan([REQUESTS, URLLIB3_UNKNOWN, other])
    assert [s.text for s in plan] == [
        f"{REQS}:2: requests 2.19.0 -> 2.20.0 (CVE-2018-18074)",
        f"{REQS}:3: urllib3 1.23 -> 1.24.3 (CVE-2019-11236, PYSEC-2019-133)",
    ]
    unfixable = remediation_plan([replace(REQUESTS, fixed_versions=())])
    assert unfixable[0].target is None and "no fixed version known" in unfixable[0].text


# --- coverage: every candidate manifest in every report -------------------------------------


def test_every_candidate_and_unchecked_line_is_in_every_report(result: ScanResult) -> None:
    """A not-scanned lockfile, a scan error and a line not checked reach the JSON report,
    the Markdown, SARIF (artifacts, notifications at file and line) and the SBOM."""
    unchecked = Unchecked(ROOT_REQS, 3, "click", "not an exact pin (click>=8)")
    scanned = replace(result, unchecked=(unchecked,))
    statuses = manifest_statuses(scanned)
    assert [(s.path, s.status) for s in statuses] == [
        ("admin-interface/pnpm-lock.yaml", "not scanned"),
        (LOCK, "scanned"),
        (REQS, "scanned"),
        (ROOT_REQS, "scan error"),
    ]
    report = json_report(scanned, scanned.gate(POLICY, TODAY), POLICY, NOW)
    root = next(m for m in report["manifests"] if m["path"] == ROOT_REQS)
    assert root["tools"] == ["pip-audit"] and root["not_checked"][0]["line"] == 3
    log = sarif_log(scanned.findings, "0.1.0", statuses)
    assert validate_sarif(log) == []
    run = log["runs"][0]
    assert [a["location"]["uri"] for a in run["artifacts"]] == [s.path for s in statuses]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False  # safety failed on requirements.txt
    where = {
        (
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            n["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for n in invocation["toolExecutionNotifications"]
    }
    assert where == {("admin-interface/pnpm-lock.yaml", 1), (ROOT_REQS, 1), (ROOT_REQS, 3)}
    bom = cyclonedx_sbom(scanned, subject="orchestra-main", tool_version="0.1.0", timestamp=NOW)
    assert validate_cyclonedx(bom) == []
    values = [p["value"] for p in bom["metadata"]["properties"]]
    assert "admin-interface/pnpm-lock.yaml: not scanned: a pnpm lockfile" in values
    assert f"{ROOT_REQS}:3: click: not an exact pin (click>=8)" in values
    text = markdown_summary(scanned, scanned.gate(POLICY, TODAY), POLICY)
    assert f"- {ROOT_REQS}:3: click: not an exact pin (click>=8)" in text


def test_a_pass_with_entries_not_checked_says_so_in_its_headline(result: ScanResult) -> None:
    """Met by an outside check: a partly scanned repository read as a plain PASSED."""
    unchecked = Unchecked(ROOT_REQS, 3, "flask", "version 'latest' is not a PEP 440 version")
    partly = replace(result, unchecked=(unchecked,), failures=(), findings=())
    gate = partly.gate(POLICY, TODAY)
    text = markdown_summary(partly, gate, POLICY)
    assert gate.passed
    assert text.startswith("# Dependency security scan: PASSED (1 entry not checked)\n"), text
    assert "3 manifests scanned, 1 not scanned, 1 entry not checked (listed under Manifests)" in (
        text
    )
