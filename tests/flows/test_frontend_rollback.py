"""Track 1 rollback under transient faults, crashes and content that only looks healthy.

Each test migrates its own Vercel project on one shared sandbox, so the tests stand
alone. Observations of issue 13 reproduced here: a retried task whose first attempt
failed must undo nothing (1, 4); a crash must not keep a new env or config (2); a
200 that is not the release must fail the gate (3); a rollback that cannot finish
must say so (5).
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.frontend_migration import frontend_migration
from flows.params import HealthParams
from orchestra_ops.errors import ConfigError, HealthCheckFailed, RollbackFailed, RolledBack
from orchestra_ops.recover import recover
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tests.flows.frontend_support import change_page, copy_example, params, project_env, served
from tests.killing import flow_in_worker, kill_when

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "orchestra-main")


@pytest.fixture(autouse=True)
def environment(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    runner, endpoints = sandbox
    for name, value in endpoints.as_environment().items():
        monkeypatch.setenv(name, value)
    state_dir = tmp_path / "state"
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(state_dir))
    runner.vercel.plan.clear()
    runner.vercel.log.clear()
    return state_dir


def _migrated(sandbox: Sandbox, repo: Path, backend: ServedApp, project: str) -> None:
    """Release 1 of ``project`` in production, verified."""
    report = frontend_migration(params(repo, backend, project, preflight=False))
    assert report.outcome == "migrated"
    sandbox.vercel.log.clear()


def _assert_migrated_state(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, project: str, title: str, marker: str
) -> None:
    """What "migrated" must mean: config written, env as intended, release and API served."""
    runner, endpoints = sandbox
    config = json.loads((repo / "admin-interface" / "vercel.json").read_text())
    assert config["rewrites"][0]["source"] == "/api/:path*"
    env = project_env(runner, project)
    assert env["VITE_APP_TITLE"] == title and "VITE_API_URL" in env
    assert marker in served(endpoints, project).text
    assert served(endpoints, project, "/api/health").json()["status"] == "ok"


# --- 1 and 4: a transient fault in a retried task undoes nothing ------------------------


@pytest.mark.parametrize(
    ("path", "method", "fault"),
    [
        ("/v13/deployments", "POST", {"status": 503}),
        ("/v13/deployments", "POST", {"status": 429, "headers": {"Retry-After": "0"}}),
        (r"/v13/deployments/[^/]+", "GET", {"status": 503}),
        (r"/v10/projects/[^/]+/promote/[^/]+", "POST", {"status": 503}),
        (r"/v10/projects/[^/]+/env", "POST", {"status": 500, "mode": "after_effect"}),
    ],
    ids=["503-on-create", "429-on-create", "503-while-polling", "503-on-promote", "env-500-after"],
)
def test_a_transient_fault_is_retried_and_the_migration_is_whole(
    sandbox: tuple[Sandbox, Endpoints],
    repo: Path,
    backend: ServedApp,
    path: str,
    method: str,
    fault: dict[str, object],
) -> None:
    """The retry succeeds: migrated, and the report is true of the project and the repo."""
    runner, _ = sandbox
    project = f"transient-{abs(hash((path, method, json.dumps(fault)))) % 10**6}"
    fault_id = runner.vercel.plan.inject(path, method=method, **fault)
    report = frontend_migration(params(repo, backend, project, preflight=False))
    assert fault_id in {e.fault_id for e in runner.vercel.log.entries()}, "fault never hit"
    assert report.outcome == "migrated", report
    assert report.env_written == 2
    _assert_migrated_state(sandbox, repo, project, "Orchestra Admin", "Orchestra")
    assert not [e for e in runner.vercel.log.mutating() if "/rollback/" in e.path]


# --- 3: a 200 that is not the release fails the gate ------------------------------------


def test_a_maintenance_page_answering_200_is_rolled_back(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Production answers 200 with other bytes than the release: rolled back, env restored."""
    runner, endpoints = sandbox
    project = "maintenance-200"
    _migrated(runner, repo, backend, project)
    before = served(endpoints, project).text
    change_page(repo, "release 2")
    runner.vercel.set_deployment_health(f"{project}.vercel.app", "maintenance")
    try:
        overrides = {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Release 2"}
        with pytest.raises(RolledBack, match="serves other bytes than the release"):
            frontend_migration(
                params(repo, backend, project, preflight=False, env_overrides=overrides)
            )
    finally:
        runner.vercel.set_deployment_health(f"{project}.vercel.app", "ok")
    assert served(endpoints, project).text == before
    assert project_env(runner, project)["VITE_APP_TITLE"] == "Orchestra Admin"
    assert '"source": "/api/:path*"' in (repo / "admin-interface" / "vercel.json").read_text()


def test_an_api_route_swallowed_by_the_spa_fallback_fails_the_gate(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """/api/* answered by index.html (no rewrite reached the backend): not healthy."""
    runner, _ = sandbox
    project = "api-swallowed"
    dead = "http://127.0.0.1:9"  # a backend URL nothing listens on: the edge answers 502
    with pytest.raises(HealthCheckFailed, match="API route /api"):
        frontend_migration(params(repo, backend, project, preflight=False, backend_api_url=dead))
    assert not [e for e in runner.vercel.log.mutating() if "/promote/" in e.path]
    assert not (repo / "admin-interface" / "vercel.json").exists()  # config undone


# --- 2: a crash keeps neither the new env nor the new config ----------------------------


def _kill_during_production_gate(
    runner: Sandbox, repo: Path, backend: ServedApp, project: str
) -> None:
    """Start release 2 (new title) in a worker; SIGKILL it while production is probed."""
    change_page(repo, "release 2")
    slow = HealthParams(consecutive=2, interval_s=0.5, budget_s=600, fail_fast_after=None)
    overrides = {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Release 2"}
    crash = params(repo, backend, project, preflight=False, env_overrides=overrides, health=slow)
    runner.vercel.break_next_promotions(1)
    worker = flow_in_worker("flows.frontend_migration", "frontend_migration", crash)
    promoted = lambda: any("/promote/" in e.path for e in runner.vercel.log.mutating())  # noqa: E731
    kill_when(worker, promoted, "the promotion", after_s=1.0)  # inside the production gate


def test_recover_after_a_crash_restores_production_env_and_config(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp, tmp_path: Path
) -> None:
    """SIGKILL during a failing production gate; `recover` puts everything back."""
    runner, endpoints = sandbox
    project = "crash-recover"
    _migrated(runner, repo, backend, project)
    release_1 = served(endpoints, project).text
    config_1 = (repo / "admin-interface" / "vercel.json").read_text()
    _kill_during_production_gate(runner, repo, backend, project)
    assert project_env(runner, project)["VITE_APP_TITLE"] == "Release 2"

    with build(load_settings(None)) as clients:
        report = recover(clients, tmp_path / "no-infrastructure", (), runs=False)

    assert report.clean, report.as_dict()
    assert served(endpoints, project).text == release_1
    assert project_env(runner, project)["VITE_APP_TITLE"] == "Orchestra Admin"
    assert (repo / "admin-interface" / "vercel.json").read_text() == config_1


def test_the_next_run_settles_a_crashed_run_before_its_own_work(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """No `recover`: the next run of the project undoes the crashed one, then migrates."""
    runner, _ = sandbox
    project = "crash-next-run"
    _migrated(runner, repo, backend, project)
    _kill_during_production_gate(runner, repo, backend, project)
    change_page(repo, "release 3")  # the broken release 2 is fixed

    report = frontend_migration(params(repo, backend, project, preflight=False))

    assert any("compensated" in line for line in report.rollback), report.rollback
    assert report.outcome == "migrated"
    _assert_migrated_state(sandbox, repo, project, "Orchestra Admin", "release 3")


# --- 5: a rollback that cannot finish says so ------------------------------------------


def test_a_rollback_that_fails_ends_rollback_failed_and_stays_open(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp, tmp_path: Path
) -> None:
    """Production breaks and Vercel refuses the rollback: a named state, an artifact, recover."""
    runner, endpoints = sandbox
    project = "rollback-fails"
    _migrated(runner, repo, backend, project)
    change_page(repo, "release 2")
    runner.vercel.break_next_promotions(1)
    refused = runner.vercel.plan.inject(
        r"/v1/projects/[^/]+/rollback/[^/]+", method="POST", status=403, count=None
    )
    with pytest.raises(RollbackFailed, match="orchestra-ops recover") as caught:
        frontend_migration(params(repo, backend, project, preflight=False))
    assert [s.split(":")[0] for s in caught.value.open_steps] == ["promote"]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=5, sort="START_TIME_DESC")
        # The report, not the link artifacts published after it (frontend-<app>-preview...).
        reports = ArtifactFilter(key=ArtifactFilterKey(any_=["frontend-admin-interface"]))
        artifact = client.read_artifacts(artifact_filter=reports, limit=1, sort="CREATED_DESC")[0]
    assert runs[0].state is not None and runs[0].state.name == "RollbackFailed"
    assert "rollback-failed" in str(artifact.data)
    assert "orchestra-ops recover" in str(artifact.data)
    assert project_env(runner, project)["VITE_APP_TITLE"] == "Orchestra Admin"  # env undone

    runner.vercel.plan.remove(refused)
    release_2 = runner.vercel.state.aliases[f"{project}.vercel.app"].deployment_id
    runner.vercel.set_deployment_health(release_2, "recover")  # the failure was a blip
    with build(load_settings(None)) as clients:
        report = recover(clients, tmp_path / "no-infrastructure", (), runs=False)
    assert report.clean, report.as_dict()
    # The run's verdict was "undo": it is finished off, never adopted after the fact.
    assert "release 2" not in served(endpoints, project).text
    assert {r.state for r in report.intents} == {"compensated"}


def test_a_failing_first_release_is_a_rollback_that_cannot_finish(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Nothing earlier to return to: the run says so instead of "rolled back"."""
    runner, _ = sandbox
    runner.vercel.break_next_promotions(1)
    with pytest.raises(RollbackFailed, match="first production release") as caught:
        frontend_migration(params(repo, backend, "first-release", preflight=False))
    assert [s.split(":")[0] for s in caught.value.open_steps] == ["promote"]


def test_a_promote_that_took_effect_but_kept_failing_is_rolled_back_and_said(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """Every promote attempt answers 500 after moving production: the run knows it moved."""
    runner, endpoints = sandbox
    project = "promote-500"
    _migrated(runner, repo, backend, project)
    before = served(endpoints, project).text
    change_page(repo, "release 2")
    runner.vercel.plan.inject(
        r"/v10/projects/[^/]+/promote/[^/]+",
        method="POST",
        status=500,
        mode="after_effect",
        count=5,
    )
    with pytest.raises(RolledBack, match="production healthy again"):
        frontend_migration(params(repo, backend, project, preflight=False))
    assert served(endpoints, project).text == before


def test_a_rerun_after_a_crash_plans_against_the_settled_state(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """The crashed run's env is undone first, so the re-run writes its env again."""
    runner, _ = sandbox
    project = "crash-rerun-env"
    _migrated(runner, repo, backend, project)
    _kill_during_production_gate(runner, repo, backend, project)
    change_page(repo, "release 3")
    overrides = {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Release 2"}
    report = frontend_migration(
        params(repo, backend, project, preflight=False, env_overrides=overrides)
    )
    assert report.outcome == "migrated" and report.env_written == 2
    _assert_migrated_state(sandbox, repo, project, "Release 2", "release 3")


def test_recover_leaves_a_live_run_alone(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp, tmp_path: Path
) -> None:
    """`recover` next to a running migration: its open steps are in progress, not undone."""
    runner, _ = sandbox
    project = "live-run"
    _migrated(runner, repo, backend, project)
    change_page(repo, "release 2")
    overrides = {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Release 2"}
    runner.vercel.state.build_delay_s = 4.0
    worker = flow_in_worker(
        "flows.frontend_migration",
        "frontend_migration",
        params(repo, backend, project, preflight=False, env_overrides=overrides),
    )
    try:
        deadline = time.monotonic() + 120
        while not any(e.path == "/v13/deployments" for e in runner.vercel.log.mutating()):
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        with build(load_settings(None)) as clients:
            report = recover(clients, tmp_path / "no-infrastructure", (), runs=False)
        assert worker.wait(timeout=120) == 0
    finally:
        runner.vercel.state.build_delay_s = 0.0
    assert {r.state for r in report.intents} == {"open"}
    assert all("in progress" in r.detail for r in report.intents)
    _assert_migrated_state(sandbox, repo, project, "Release 2", "release 2")


def test_runs_naming_a_project_by_name_and_by_id_still_take_turns(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp, tmp_path: Path
) -> None:
    """One lock per project, however a run names it."""
    runner, _ = sandbox
    project = "by-name-and-id"
    _migrated(runner, repo, backend, project)
    project_id = next(
        pid for pid, p in runner.vercel.state.projects.items() if p["name"] == project
    )
    other = copy_example(tmp_path / "other")
    change_page(repo, "release 2")
    change_page(other, "release 3")
    runs = [
        params(repo, backend, project, preflight=False),
        params(other, backend, project_id, preflight=False),
    ]
    errors: list[BaseException] = []

    def migrate(run: object) -> None:
        try:
            frontend_migration(run)
        except BaseException as error:  # asserted below
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(r,)) for r in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    order = "".join(
        "C" if e.path == "/v13/deployments" else "P"
        for e in runner.vercel.log.mutating()
        if e.path == "/v13/deployments" or "/promote/" in e.path
    )
    assert re.fullmatch("(CC?P){2}", order), f"interleaved: {order}"


# --- 8: bad input is refused before any API call ----------------------------------------


def test_a_file_vercel_would_refuse_stops_the_run_before_any_api_call(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """A 60 MB file: refused by name; no project, no env, not even a read."""
    runner, _ = sandbox
    with open(repo / "admin-interface" / "public" / "video.mp4", "wb") as handle:
        handle.truncate(60 * 1024 * 1024)
    with pytest.raises(ConfigError, match=r"video\.mp4: larger than 50 MB"):
        frontend_migration(params(repo, backend, "too-big", preflight=False))
    assert runner.vercel.log.entries() == []
    assert not (repo / "admin-interface" / "vercel.json").exists()


def test_a_project_id_that_finds_no_project_creates_none(
    sandbox: tuple[Sandbox, Endpoints], repo: Path, backend: ServedApp
) -> None:
    """An id is a project that exists: a mistyped one must not become a new project's name."""
    runner, _ = sandbox
    missing = "prj_0a1B2c3D4e5F6g7H8i9J0k1L2m3N"
    with pytest.raises(ConfigError, match=f"no Vercel project has the id {missing}"):
        frontend_migration(params(repo, backend, missing, preflight=False))
    assert runner.vercel.log.mutating() == []
    assert not (repo / "admin-interface" / "vercel.json").exists()
