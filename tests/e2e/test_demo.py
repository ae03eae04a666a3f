"""The main job: `orchestra-ops demo` runs the roadmap on the sandbox, end to end."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from orchestra_cli.demo import run_demo

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.slow,
    pytest.mark.node,
    # Three roadmap runs, npm builds and Pulumi updates: 2-5 minutes, more on a busy machine.
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        shutil.which("npm") is None or shutil.which("node") is None,
        reason="node and npm are not on PATH",
    ),
]


def test_demo_shows_migration_rollback_and_a_warm_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold run completes; the broken release rolls back; the warm re-run changes nothing."""
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    report_path = tmp_path / "report.json"
    code = run_demo(tmp_path / "state", report_path, inject_failure=True, echo=lines.append)
    assert code == 0, "\n".join(lines)
    report = json.loads(report_path.read_text())
    assert report["state"] == "completed"
    assert all({"phase", "state", "duration_s"} <= set(p) for p in report["phases"])
    runs = {run["run"]: run for run in report["demo_runs"]}
    assert runs["release 2, broken in production"]["rollbacks"] == {"1A admin interface": True}
    assert runs["warm re-run (resume)"]["mutating_api_calls"] == 0
    assert any(line.startswith("as intended: release 2") for line in lines), lines
    assert report["metrics_over_runs"]["rollback worked"]["met"] is True
    # Both example apps were built from their committed lockfiles (the suite's only build
    # of the Next.js dashboard): `npm ci`, then `npm run build`.
    for app in ("1A admin interface", "1B dashboard"):
        phase = next(p for p in report["phases"] if p["phase"] == app)
        assert phase["metrics"]["preflight"].startswith(
            ("built: `npm ci && npm run build` passed", "reused: install and build not run")
        ), phase
    submitted = [p for p in report["phases"] if p["phase"][:2] in ("1A", "1B", "2A", "3A", "4A")]
    assert all(p["cached"] and p["duration_s"] < 5 for p in submitted), submitted
    assert report["metrics"]["frontend deploy time under 2 minutes"]["met"] is True
    security = next(p for p in report["phases"] if p["phase"].startswith("3A"))
    assert "0 scan errors" in security["detail"]
    week2 = {
        p["phase"]: p for p in report["phases"] if p["phase"][:2] == "2A" or "2B" in p["phase"]
    }
    assert {p["state"] for k, p in week2.items() if k.startswith("2A")} == {"completed"}, week2
    # The example's Pulumi projects cannot run in CI (no hash-pinned requirements, no
    # lockfile): 2B says so instead of writing a workflow that fails.
    infra = week2["2B infrastructure workflow"]
    assert infra["state"] == "skipped" and "no hashes" in infra["detail"], infra
    assert set(week2) == {"2A lambda dev", "2A lambda prod", "2B infrastructure workflow"}
    assert report["metrics"]["provisioning under 10 minutes"]["met"] is True
    assert "VERCEL_API_URL" not in os.environ  # the demo leaves the environment as it was
    assert "ORCHESTRA_STACK_ENGINE" not in os.environ
