"""The scan service over an in-memory Scanner: gate, reports and trend without any tool,
subprocess or server (the real scanners run in tests/adapters/test_scan_corpus.py)."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from orchestra_ops.adapters.git import Git
from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.scan import (
    Component,
    Manifest,
    ManifestKind,
    ScanResult,
    ToolFailure,
)
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.errors import ScanError
from orchestra_ops.ports.scanner import Scanner
from orchestra_ops.security_scan import fix_pins, run_scan

TODAY = dt.date(2026, 12, 1)
MANIFEST = Manifest("requirements.txt", ManifestKind.REQUIREMENTS)
REQUESTS = Finding(
    ecosystem=Ecosystem.PYPI,
    package="requests",
    version="2.19.0",
    ids=frozenset({"CVE-2018-18074", "PYSEC-2018-28"}),
    manifest="requirements.txt",
    tools=frozenset({"pip-audit"}),
    severity=Severity.HIGH,
    cvss_score=7.5,
    fixed_versions=("2.20.0",),
    line=1,
)


def result(*findings: Finding, failures: tuple[ToolFailure, ...] = ()) -> ScanResult:
    """One scanned requirements.txt pinning requests, with these findings."""
    return ScanResult(
        manifests=(MANIFEST,),
        findings=findings,
        failures=failures,
        unsupported=(),
        components=(Component(Ecosystem.PYPI, "requests", "2.19.0", "requirements.txt"),),
        audited=(("requirements.txt", "pip-audit"),),
    )


class FakeScanner:
    """Answers each scan with the next prepared result and records what it was asked."""

    def __init__(self, *results: ScanResult) -> None:
        self.results = list(results)
        self.calls: list[tuple[Path, int]] = []

    def scan(self, repo: Path, *, max_concurrency: int = 4) -> ScanResult:
        """The next prepared result."""
        self.calls.append((repo, max_concurrency))
        return self.results.pop(0)


def repo_at(tmp_path: Path) -> Path:
    """A repository with one pinned requirements file (read only by the fix step)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("requests==2.19.0\n")
    return repo


def test_the_service_gates_reports_and_trends_what_the_scanner_found(tmp_path: Path) -> None:
    """A high finding fails the default policy; the reports are written; the next scan,
    clean, passes and counts the finding as fixed."""
    repo, out = repo_at(tmp_path), tmp_path / "out"
    scanner: Scanner = FakeScanner(result(REQUESTS), result())

    first = run_scan(repo, scanner, out, max_concurrency=2, today=TODAY)

    assert not first.gate.passed
    assert first.gate.verdict.failing
    assert set(first.reports) == {"json", "markdown", "sarif", "sbom", "trend"}
    assert all(path.is_file() for path in first.reports.values())
    report = json.loads(first.reports["json"].read_text())
    assert [f["package"] for f in report["findings"]] == ["requests"]
    assert "requests" in first.summary and "2.20.0" in first.summary
    assert [len(first.trend.new), len(first.trend.fixed)] == [1, 0]

    second = run_scan(repo, scanner, out, today=TODAY)

    assert second.gate.passed
    assert [len(second.trend.new), len(second.trend.fixed)] == [0, 1]
    assert len(list((out / "history").glob("report-*.json"))) >= 1
    assert isinstance(scanner, FakeScanner)
    assert scanner.calls == [(repo, 2), (repo, 4)]


def test_a_tool_failure_from_the_scanner_fails_the_gate_without_findings(
    tmp_path: Path,
) -> None:
    """A scan that could not run is never a clean one, whatever the scanner is."""
    failure = ToolFailure("safety", "requirements.txt", "safety database missing")
    scanner = FakeScanner(result(failures=(failure,)))

    outcome = run_scan(repo_at(tmp_path), scanner, tmp_path / "out", today=TODAY)

    assert not outcome.gate.passed and outcome.gate.verdict.passed
    assert outcome.gate.failures == (failure,)
    assert "safety database missing" in outcome.summary


def test_the_fix_mode_keeps_a_files_encoding_and_line_endings(tmp_path: Path) -> None:
    """A UTF-16, CRLF requirements file (Windows PowerShell's `pip freeze >`): the dry run's
    diff changes one line; applying writes that line's new version and nothing else."""
    repo = tmp_path / "repo"
    repo.mkdir()
    freeze = "certifi==2018.4.16\r\nrequests==2.19.0\r\n"
    manifest = repo / "requirements.txt"
    manifest.write_bytes(codecs.BOM_UTF16_LE + freeze.encode("utf-16-le"))
    git = Git(repo)
    git.init("the frozen requirements")
    on_line_2 = replace(REQUESTS, line=2)
    outcome = run_scan(repo, FakeScanner(result(on_line_2)), tmp_path / "out", today=TODAY)

    diffs = fix_pins(repo, outcome, apply=False).diffs
    changed = [line for line in diffs["requirements.txt"].splitlines() if line[:1] in "+-"]
    assert changed[2:] == ["-requests==2.19.0", "+requests==2.20.0"]  # after the ---/+++ lines
    assert "\r" not in diffs["requirements.txt"]

    fix_pins(repo, outcome, apply=True)
    raised = freeze.replace("2.19.0", "2.20.0")
    assert manifest.read_bytes() == codecs.BOM_UTF16_LE + raised.encode("utf-16-le")
    message = git.run("log", "-1", "--format=%B").strip().splitlines()
    assert message[0] == "security: raise vulnerable pins in 1 requirements file"
    assert "- requirements.txt:2: requests 2.19.0 -> 2.20.0 (CVE-2018-18074)" in (message)


def test_the_fix_mode_refuses_a_file_it_could_not_write_back_as_it_was(tmp_path: Path) -> None:
    """A coding comment naming utf-8-sig in a file without the mark: re-encoding would add
    one. Refused, and the file is left alone."""
    repo = tmp_path / "repo"
    repo.mkdir()
    manifest = repo / "requirements.txt"
    before = b"# -*- coding: utf-8-sig -*-\nrequests==2.19.0\n"
    manifest.write_bytes(before)
    on_line_2 = replace(REQUESTS, line=2)
    outcome = run_scan(repo, FakeScanner(result(on_line_2)), tmp_path / "out", today=TODAY)
    fixes = fix_pins(repo, outcome, apply=True)
    assert fixes.diffs == {}
    (left,) = fixes.by_hand
    assert left.startswith("requirements.txt:2: requests 2.19.0 -> 2.20.0")
    assert left.endswith("is utf-8-sig text that would not be written back byte for byte")
    assert manifest.read_bytes() == before


def test_the_fix_mode_lists_what_it_leaves_to_a_person(tmp_path: Path) -> None:
    """A fix in a lock file, one with no fixed version and one whose pin is split over two
    lines are listed, each with why; the one it can make is made."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("requests==2.19.0\nurllib3\\\n==1.24.1\njinja2==2.10\n")
    lock = Manifest("package-lock.json", ManifestKind.NPM_LOCK)
    npm = Finding(
        ecosystem=Ecosystem.NPM,
        package="lodash",
        version="4.17.19",
        ids=frozenset({"CVE-2021-23337"}),
        manifest="package-lock.json",
        tools=frozenset({"npm-audit"}),
        severity=Severity.HIGH,
        fixed_versions=("4.17.21",),
    )
    split = replace(
        REQUESTS,
        package="urllib3",
        version="1.24.1",
        ids=frozenset({"CVE-2019-11324"}),
        fixed_versions=("1.24.2",),
        line=2,
    )
    unfixed = replace(
        REQUESTS,
        package="jinja2",
        version="2.10",
        ids=frozenset({"CVE-0000-0001"}),
        fixed_versions=(),
        line=4,
    )
    scanned = replace(result(REQUESTS, split, unfixed, npm), manifests=(MANIFEST, lock))
    outcome = run_scan(repo, FakeScanner(scanned), tmp_path / "out", today=TODAY)

    fixes = fix_pins(repo, outcome, apply=False)

    assert list(fixes.diffs) == ["requirements.txt"]
    assert "+requests==2.20.0" in fixes.diffs["requirements.txt"]
    by_hand = "\n".join(fixes.by_hand)
    assert "package-lock.json: lodash 4.17.19 -> 4.17.21" in by_hand
    assert "a lock file: update it with the tool that writes it" in by_hand
    assert "requirements.txt:4: jinja2 2.10 -> no fixed version known" in by_hand
    assert "requirements.txt:2: urllib3 1.24.1 -> 1.24.2" in by_hand
    assert "not written as one `name==version` line" in by_hand
    assert len(fixes.by_hand) == 3


def test_a_hashed_file_is_left_by_hand_and_the_others_are_still_raised(tmp_path: Path) -> None:
    repo = repo_at(tmp_path)
    (repo / "requirements-lock.txt").write_text("requests==2.19.0 \\\n    --hash=sha256:00\n")
    locked = Manifest("requirements-lock.txt", ManifestKind.REQUIREMENTS)
    in_lock = replace(REQUESTS, manifest="requirements-lock.txt")
    scanned = replace(result(REQUESTS, in_lock), manifests=(MANIFEST, locked))
    outcome = run_scan(repo, FakeScanner(scanned), tmp_path / "out", today=TODAY)
    fixes = fix_pins(repo, outcome, apply=False)
    assert list(fixes.diffs) == ["requirements.txt"]
    (left,) = fixes.by_hand
    assert left.startswith("requirements-lock.txt:1: requests 2.19.0 -> 2.20.0")
    assert "pins hashes: recompile it with the tool that wrote it" in left


def test_a_dirty_tree_is_refused_naming_what_is_changed(tmp_path: Path) -> None:
    """Untracked files count: the scan's own reports, written inside the repo, among them."""
    repo = repo_at(tmp_path)
    git = Git(repo)
    git.init("pins")
    outcome = run_scan(repo, FakeScanner(result(REQUESTS)), repo / "reports", today=TODAY)
    with pytest.raises(ScanError, match=r"uncommitted changes \(reports/") as refused:
        fix_pins(repo, outcome, apply=True)
    assert "git stash -u" in str(refused.value)
    assert (repo / "requirements.txt").read_text() == "requests==2.19.0\n"  # untouched


def test_a_fix_commit_that_fails_changes_nothing(tmp_path: Path) -> None:
    """A signing key that does not work: the files, the branch and the checkout are as
    they were, and the error says so."""
    repo = repo_at(tmp_path)
    git = Git(repo)
    git.init("pins")  # on main
    git.run("config", "commit.gpgsign", "true")
    git.run("config", "gpg.program", "false")
    outcome = run_scan(repo, FakeScanner(result(REQUESTS)), tmp_path / "out", today=TODAY)
    with pytest.raises(ScanError, match="the fix commit failed, and nothing was changed"):
        fix_pins(repo, outcome, apply=True)
    assert git.current_branch() == "main"
    assert not git.branch_exists("orchestra-ops/security-fixes")
    assert (repo / "requirements.txt").read_text() == "requests==2.19.0\n"
    assert git.is_clean()
