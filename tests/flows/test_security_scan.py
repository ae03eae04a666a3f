"""Track 3 end to end: the security flow and `orchestra-ops security scan` on the feeds."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from prefect.client.schemas.objects import StateType
from typer.testing import CliRunner

from flows.security_scan import SecurityScanParams, security_scan
from orchestra_cli.app import app
from orchestra_ops.adapters.schema_validation import validate_sarif
from orchestra_ops.errors import SecurityGateFailed
from orchestra_ops.sandbox.feeds import Feeds, ServedFeeds

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"
LENIENT_POLICY = """\
threshold: critical
unknown_severity: moderate
ignore:
  - id: CVE-2020-1747
    reason: the YAML loader only reads our own agent files; upgrade tracked in OPS-42
    expires: 2099-12-31
"""

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedFeeds, Path]]:
    sandbox = Feeds()
    db = sandbox.write_safety_db(tmp_path_factory.mktemp("safety") / "db")
    with sandbox.serve() as served:
        yield served, db


@pytest.fixture
def repo(tmp_path: Path, feeds: tuple[ServedFeeds, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    served, db = feeds
    monkeypatch.setenv("ORCHESTRA_OSV_API_URL", served.osv.url)
    monkeypatch.setenv("ORCHESTRA_NPM_REGISTRY_URL", served.npm.url)
    monkeypatch.setenv("ORCHESTRA_SAFETY_AUTH_SERVER_URL", served.safety.url)
    # relative on purpose: the scanners run in each manifest's directory
    monkeypatch.setenv("ORCHESTRA_SAFETY_DB_DIR", os.path.relpath(db))
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    target = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, target)
    return target


def test_vulnerable_repo_fails_the_gate_with_full_reports(repo: Path) -> None:
    """High and critical findings fail the run in a state named PolicyViolation (findings,
    not a broken scan); every report is written and valid."""
    state = security_scan(SecurityScanParams(repo_path=str(repo)), return_state=True)
    assert (state.type, state.name) == (StateType.FAILED, "PolicyViolation")
    assert re.match(
        r"security gate failed \(PolicyViolation\): [1-9]\d* findings at or above "
        r"high, 0 scan errors",
        state.message or "",
    ), state.message
    with pytest.raises(SecurityGateFailed, match="findings at or above high"):
        state.result()
    out = repo.parent / "state" / "security" / "orchestra-main"
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] is False
    requests = next(f for f in report["findings"] if "CVE-2018-18074" in f["ids"])
    assert sorted(requests["tools"]) == ["pip-audit", "safety"]
    assert report["summary"]["scan_errors"] == 0
    assert validate_sarif(json.loads((out / "results.sarif").read_text())) == []
    assert (out / "sbom.cdx.json").exists()
    summary = Artifact.get("security-summary-orchestra-main")
    assert summary is not None and "FAILED" in str(summary.data)
    table = Artifact.get("security-findings-orchestra-main")
    assert table is not None and "last scan of **orchestra-main**" in (table.description or "")
    link = "[CVE-2018-18074](https://osv.dev/vulnerability/CVE-2018-18074)"
    assert link in str(table.data)  # the UI renders a string cell as Markdown


def test_lenient_policy_passes_writes_config_and_tracks_the_trend(repo: Path) -> None:
    """An ignore with a reason and a critical threshold pass; the second run sees no new."""
    (repo / "security-policy.yaml").write_text(LENIENT_POLICY)
    params = SecurityScanParams(repo_path=str(repo), write_update_config=True)
    first = security_scan(params)
    assert first.passed
    assert first.findings > 0 and first.failing == 0
    assert sorted(first.config_written) == [  # one bot: the example already uses Dependabot
        ".github/dependabot.yml",
        ".github/security-audit/pip-audit.txt",
        ".github/workflows/security-audit.yml",
    ]
    second = security_scan(params)
    assert (second.new, second.fixed) == (0, 0)
    assert second.config_written == []


def test_cli_scan_exits_1_on_findings_and_writes_sarif(repo: Path, tmp_path: Path) -> None:
    """The command the generated GitHub workflow runs."""
    sarif = tmp_path / "security.sarif"
    result = CliRunner().invoke(
        app,
        ["security", "scan", str(repo), "--out-dir", str(tmp_path / "out"), "--sarif", str(sarif)],
    )
    assert result.exit_code == 1, result.output
    assert "Dependency security scan: FAILED" in result.output
    assert "base64" not in result.output  # the chart is named by its file, not printed
    assert "(chart: " in result.output and "trend.svg)" in result.output
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_feed_down_is_a_scan_error_never_a_pass(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the OSV feed unreachable and a lenient policy, the gate still fails."""
    (repo / "security-policy.yaml").write_text(LENIENT_POLICY)
    monkeypatch.setenv("ORCHESTRA_OSV_API_URL", "http://127.0.0.1:1")
    state = security_scan(SecurityScanParams(repo_path=str(repo)), return_state=True)
    assert (state.type, state.name) == (StateType.FAILED, "Failed"), "broken is not findings"
    with pytest.raises(SecurityGateFailed, match=r"[1-9]\d* scan errors"):
        state.result()


def test_the_project_scans_its_own_lock(tmp_path: Path, repo: Path) -> None:
    """requirements.lock (hashed) goes through the same flow: every tool ran, no finding."""
    own = tmp_path / "orchestra-ops"
    own.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "requirements.lock", own)
    summary = security_scan(SecurityScanParams(repo_path=str(own)))
    assert summary.passed
    assert (summary.findings, summary.scan_errors) == (0, 0)
    report = json.loads(Path(summary.reports["json"]).read_text())
    assert [m["path"] for m in report["manifests"]] == ["requirements.lock"]


def test_fix_mode_dry_run_then_commit_on_a_branch(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dry run shows the diff and changes nothing; apply commits it on a new branch."""
    import subprocess

    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "t")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "t@example.invalid")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "legacy"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    manifest = "infrastructure/pulumi/requirements.txt"
    before = (repo / manifest).read_text()
    dry = security_scan(
        SecurityScanParams(repo_path=str(repo), fix="dry-run", fail_on_findings=False)
    )
    assert "+requests==2.20.0" in dry.fixes[manifest]
    assert (repo / manifest).read_text() == before
    applied = security_scan(
        SecurityScanParams(repo_path=str(repo), fix="apply", fail_on_findings=False)
    )
    assert applied.fixes == dry.fixes
    branch = subprocess.run(
        ["git", "branch", "--show-current"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert branch == "orchestra-ops/security-fixes"
    assert "requests==2.20.0" in (repo / manifest).read_text()


def test_a_half_set_generation_setting_never_hides_the_gate(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the product git URL set: the vulnerable repo still ends PolicyViolation and the
    problem is in the config artifact; with a passing gate and writing asked, the run
    fails as ConfigNotWritten naming the missing variable, and nothing is written."""
    monkeypatch.setenv("ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL", "https://github.com/a/b.git")
    monkeypatch.delenv("ORCHESTRA_WORKFLOW_PRODUCT_COMMIT", raising=False)
    state = security_scan(SecurityScanParams(repo_path=str(repo)), return_state=True)
    assert (state.type, state.name) == (StateType.FAILED, "PolicyViolation"), state.message
    config = Artifact.get("security-config-orchestra-main")
    assert config is not None
    assert "Not generated:** ORCHESTRA_WORKFLOW_PRODUCT_COMMIT is not set" in str(config.data)
    (repo / "security-policy.yaml").write_text(LENIENT_POLICY)
    params = SecurityScanParams(repo_path=str(repo), write_update_config=True)
    state = security_scan(params, return_state=True)
    assert (state.type, state.name) == (StateType.FAILED, "ConfigNotWritten"), state.message
    assert "ORCHESTRA_WORKFLOW_PRODUCT_COMMIT is not set" in (state.message or "")
    assert not (repo / ".github" / "workflows" / "security-audit.yml").exists()
