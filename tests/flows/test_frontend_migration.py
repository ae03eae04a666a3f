"""Track 1 end to end on the sandbox: migrate, re-run, and every failure path."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType

from flows.frontend_migration import FrontendMigrationParams, HealthParams, frontend_migration
from orchestra_ops.errors import DeploymentFailed, HealthCheckFailed, RolledBack
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp
from tests import loopback
from tests.killing import flow_in_worker, kill_when

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"
HAS_NODE = shutil.which("npm") is not None and shutil.which("node") is not None
CANARY = "canary-7c1e-DO-NOT-LEAK"

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.node,
    pytest.mark.slow,
    pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH"),
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the example repo shared by the module's ordered scenario."""
    target = tmp_path_factory.mktemp("repo") / "orchestra-main"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture(autouse=True)
def sandbox_env(
    sandbox: tuple[Sandbox, Endpoints],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    runner, endpoints = sandbox
    for name, value in endpoints.as_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))
    runner.vercel.plan.clear()
    runner.vercel.log.clear()


#: The tests whose subject is on Vercel's side (its build, the gates, promotion, faults of
#: its API) deploy the sources without the preflight build, which test_1, test_2 and test_7
#: run (each new release is a new build: 3 s of CPU).
VERCEL_SIDE: dict[str, object] = {"preflight": False}


def _params(repo: Path, backend: ServedApp, **changes: object) -> FrontendMigrationParams:
    base: dict[str, object] = {
        "repo_path": str(repo),
        "app": "admin-interface",
        "project": "orchestra-admin",
        "backend_api_url": backend.url,
        "env_overrides": {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Orchestra Admin"},
        "health": HealthParams(consecutive=2, interval_s=0.05, budget_s=5, body_marker="Orchestra"),
    }
    base.update(changes)
    return FrontendMigrationParams.model_validate(base)


def _production(endpoints: Endpoints, path: str = "/") -> httpx.Response:
    return loopback.get(
        f"{endpoints.vercel_edge_url}{path}", headers={"host": "orchestra-admin.vercel.app"}
    )


def test_1_admin_migrates_end_to_end(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Plan, preflight, env, deploy, gates, promote: production serves the built app."""
    _, endpoints = sandbox
    report = frontend_migration(_params(repo, backend))
    assert report.outcome == "migrated", report
    # Built here, or reused from the build of the same inputs by an earlier test of the run.
    assert report.preflight.startswith(("built: `npm ci && npm run build`", "reused: install"))
    assert report.env_written == 2
    config = json.loads((repo / "admin-interface" / "vercel.json").read_text())
    assert config["rewrites"][0] == {
        "source": "/api/:path*",
        "destination": f"{backend.url}/api/:path*",
    }
    page = _production(endpoints)
    assert page.status_code == 200
    assert '<script type="module" crossorigin src="/assets/' in page.text  # the built bundle
    assert _production(endpoints, "/api/health").json() == {"status": "ok", "path": "/api/health"}
    assert _production(endpoints, "/some/client/route").status_code == 200  # SPA fallback
    with get_client(sync_client=True) as client:
        kinds = ArtifactFilter(type=ArtifactFilterType(any_=["progress", "markdown"]))
        artifacts = client.read_artifacts(artifact_filter=kinds, sort="CREATED_DESC", limit=50)
    build = [
        a
        for a in artifacts
        if a.type == "progress" and report.deployment_id in (a.description or "")
    ]
    assert build and build[0].data == 100.0, build  # the build polling ended at 100 %
    assert "alias assigned" in (build[0].description or "")
    published = next(a for a in artifacts if a.key == "frontend-admin-interface")
    production = report.production_url
    assert f"- production: [{production}]({production})" in str(published.data)
    link = next(a for a in artifacts if a.key == "frontend-admin-interface-production")
    assert link.data == f"[admin-interface production: {production}]({production})"


def test_2_rerun_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Same source and config: the deployment is adopted, no mutating call is made."""
    runner, _ = sandbox
    before = len(runner.vercel.state.deployments)
    report = frontend_migration(_params(repo, backend))
    assert report.outcome == "migrated"
    assert report.env_written == 0
    assert len(runner.vercel.state.deployments) == before
    assert [(e.method, e.path) for e in runner.vercel.log.mutating()] == []


def _change_page(repo: Path, marker: str) -> str:
    index = repo / "admin-interface" / "index.html"
    original = index.read_text()
    index.write_text(original.replace("<title>", f"<!-- {marker} --><title>", 1))
    return original


def test_3_build_failure_stops_before_production(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """A failed Vercel build ends the run; production and env are as they were."""
    runner, endpoints = sandbox
    served_before = _production(endpoints).text
    env_before = runner.vercel.state.envs.copy()
    original = _change_page(repo, "release 2")
    runner.vercel.fail_next_builds(1, "npm run build exited with 1")
    try:
        with pytest.raises(DeploymentFailed, match="ERROR"):
            frontend_migration(
                _params(
                    repo,
                    backend,
                    **VERCEL_SIDE,
                    env_overrides={
                        "VITE_API_URL": "https://x.example",
                        "VITE_APP_TITLE": "Orchestra Admin",
                    },
                )
            )
    finally:
        (repo / "admin-interface" / "index.html").write_text(original)
    assert _production(endpoints).text == served_before
    assert runner.vercel.state.envs == env_before  # env snapshot restored


def test_4_unhealthy_preview_leaves_production_untouched(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """A release whose page lacks the marker fails its preview gate; no promotion."""
    runner, endpoints = sandbox
    served_before = _production(endpoints).text
    original = _change_page(repo, "release 3")
    try:
        params = _params(
            repo,
            backend,
            **VERCEL_SIDE,
            health=HealthParams(
                consecutive=2, interval_s=0.05, budget_s=1, body_marker="release 4"
            ),
        )
        with pytest.raises(HealthCheckFailed, match="body lacks 'release 4'"):
            frontend_migration(params)
    finally:
        (repo / "admin-interface" / "index.html").write_text(original)
    assert _production(endpoints).text == served_before
    assert not [e for e in runner.vercel.log.mutating() if "/promote/" in e.path]


def test_5_production_failure_rolls_back_automatically(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Healthy preview, broken in production: instant rollback, env restored, healthy again."""
    runner, endpoints = sandbox
    served_before = _production(endpoints).text
    env_before = runner.vercel.state.envs.copy()
    original = _change_page(repo, "release 5")
    runner.vercel.break_next_promotions(1)
    try:
        overrides = {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Orchestra Admin 5"}
        params = _params(repo, backend, **VERCEL_SIDE, env_overrides=overrides)
        with pytest.raises(RolledBack, match="production healthy again") as caught:
            frontend_migration(params)
        assert caught.value.restored
    finally:
        (repo / "admin-interface" / "index.html").write_text(original)
    assert _production(endpoints).text == served_before
    assert runner.vercel.state.envs == env_before
    rollbacks = [e for e in runner.vercel.log.mutating() if "/rollback/" in e.path]
    assert len(rollbacks) == 1


def test_6_rate_limits_and_server_errors_during_upload_and_create_are_ridden_out(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """429 with Retry-After on create and a 503 on an upload: retried, then migrated."""
    runner, endpoints = sandbox
    original = _change_page(repo, "release 6 Orchestra")
    rate_limited = runner.vercel.plan.inject(
        "/v13/deployments", method="POST", status=429, headers={"Retry-After": "0"}
    )
    unavailable = runner.vercel.plan.inject("/v2/files", method="POST", status=503)
    try:
        report = frontend_migration(_params(repo, backend, **VERCEL_SIDE))
    finally:
        (repo / "admin-interface" / "index.html").write_text(original)
    assert report.outcome == "migrated"
    hit = {e.fault_id for e in runner.vercel.log.entries()}
    assert {rate_limited, unavailable} <= hit
    assert "release 6" in _production(endpoints).text


def test_7_secrets_stay_out_of_logs_artifacts_files_and_the_database(
    sandbox: tuple[Sandbox, Endpoints],
    repo: Path,
    backend: ServedApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sensitive value reaches Vercel and nowhere else."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    runner, _ = sandbox
    env_file = repo / "admin-interface" / ".env.production"
    env_file.write_text("SENTRY_AUTH_TOKEN=\n")
    monkeypatch.setenv("ORCHESTRA_SECRET_SENTRY_AUTH_TOKEN", CANARY)
    try:
        report = frontend_migration(_params(repo, backend))
    finally:
        env_file.unlink()
    assert report.outcome == "migrated"
    stored = [e for envs in runner.vercel.state.envs.values() for e in envs]
    sentry = next(e for e in stored if e["key"] == "SENTRY_AUTH_TOKEN")
    assert sentry["type"] == "sensitive"
    assert CANARY not in caplog.text
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    assert artifacts and all(CANARY not in str(a.data) for a in artifacts)
    files = [p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert all(CANARY.encode() not in p.read_bytes() for p in files)
    state = Path(os.environ["ORCHESTRA_STATE_DIR"])
    assert all(CANARY.encode() not in p.read_bytes() for p in state.rglob("*") if p.is_file())
    database = Path(PREFECT_API_DATABASE_CONNECTION_URL.value().split("///", 1)[1])
    for path in database.parent.glob(database.name + "*"):
        assert CANARY.encode() not in path.read_bytes()


def test_8_a_worker_killed_mid_deploy_is_repeated_without_a_duplicate(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """SIGKILL while the deployment builds; the re-run adopts it and finishes the job."""
    runner, endpoints = sandbox
    original = _change_page(repo, "release 8 Orchestra")
    params = _params(repo, backend, **VERCEL_SIDE)
    before = set(runner.vercel.state.deployments)
    runner.vercel.state.build_delay_s = 30.0
    worker = flow_in_worker("flows.frontend_migration", "frontend_migration", params)
    try:
        kill_when(worker, lambda: bool(set(runner.vercel.state.deployments) - before), "a deploy")
        runner.vercel.state.build_delay_s = 0.0
        report = frontend_migration(params)
    finally:
        runner.vercel.state.build_delay_s = 0.0
        (repo / "admin-interface" / "index.html").write_text(original)
    new = set(runner.vercel.state.deployments) - before
    assert len(new) == 1, "the re-run deployed again instead of adopting"
    assert report.outcome == "migrated"
    assert report.deployment_id in new
    assert "release 8" in _production(endpoints).text
