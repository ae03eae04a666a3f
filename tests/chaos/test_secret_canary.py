"""Secret hygiene: every flow that takes a credential runs with canary values, then we look.

The emulators are started with the canary as their own key (``LambdaCloudEmulator(api_key=...)``,
``VercelEmulator(token=...)``), so a run that succeeds proves the canary was the credential
in use; the webhook is a loopback receiver whose secret path segment is a canary. After
each run the canaries must appear nowhere: captured logs and output, exception texts and
reprs, returned reports, the Prefect database file (logs are sent to the API for these
runs, so it holds them too), artifacts, flow and task runs and logs read back through the
Prefect client, the state dir, the files the run generated, and the notices received.

Not covered here: the stack-state migration (needs the Pulumi CLI) and the roadmap flow
(it composes the flows below). The frontend's sensitive-env-var canary lives in
``tests/flows/test_frontend_migration.py``; here the frontend runs with a canary token.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.frontend_migration import FrontendMigrationParams, HealthParams, frontend_migration
from flows.lambda_provisioning import lambda_provisioning
from flows.params import ProvisioningParams
from flows.security_scan import SecurityScanParams, security_scan
from orchestra_ops.errors import LambdaUnauthorized, RolledBack, SecurityGateFailed
from orchestra_ops.sandbox.feeds import Feeds
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.lambda_cloud.emulator import HEALTH_PROXY_PATH
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator
from tests.doubles.program_engine import copy_projects

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter
    from prefect.client.schemas.objects import TaskRun

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orchestra-main"
DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"
HAS_NODE = shutil.which("npm") is not None and shutil.which("node") is not None

LAMBDA_CANARY = "canary-lambda-3e7a-DO-NOT-LEAK"
WRONG_LAMBDA_CANARY = "canary-wrong-lambda-91c4-DO-NOT-LEAK"
VERCEL_CANARY = "canary-vercel-6b2f-DO-NOT-LEAK"
HOOK_CANARY = "canary-hook-d05e-DO-NOT-LEAK"
CANARIES = (LAMBDA_CANARY, WRONG_LAMBDA_CANARY, VERCEL_CANARY, HOOK_CANARY)
TEAM_ID = "team_canary"

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


# --- the loopback services ---------------------------------------------------------------


@dataclass
class Receiver:
    """A Slack-style webhook: records each notice and the path it came to."""

    status: int = 200
    received: list[tuple[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> JSONResponse:
            self.received.append((request.url.path, (await request.body()).decode()))
            return JSONResponse({"ok": self.status == 200}, status_code=self.status)

        return Starlette(routes=[Route("/hooks/{token}", hook, methods=["POST"])])


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[Receiver, ServedApp]]:
    receiver = Receiver()
    with serve_in_thread(receiver.app(), name="webhook") as served:
        yield receiver, served


@pytest.fixture(scope="module")
def lambda_api() -> Iterator[tuple[LambdaCloudEmulator, ServedApp]]:
    emulator = LambdaCloudEmulator(api_key=LAMBDA_CANARY)
    try:
        with serve_in_thread(emulator.app(), name="lambda-api") as served:
            yield emulator, served
    finally:
        emulator.close()


@pytest.fixture(autouse=True)
def canary_environment(
    webhook: tuple[Receiver, ServedApp], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """A fresh state dir, the canary webhook, and logs sent to the Prefect API."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    receiver, served = webhook
    receiver.status, receiver.received[:] = 200, []
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", f"{served.url}/hooks/{HOOK_CANARY}")
    with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: True}):
        yield
        APILogWorker.drain_all(timeout=10)


@pytest.fixture
def lambda_env(
    lambda_api: tuple[LambdaCloudEmulator, ServedApp], monkeypatch: pytest.MonkeyPatch
) -> LambdaCloudEmulator:
    emulator, served = lambda_api
    monkeypatch.setenv("LAMBDA_LABS_API_URL", served.url)
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", LAMBDA_CANARY)
    monkeypatch.setenv("LAMBDA_LABS_HEALTH_URL_TEMPLATE", served.url + HEALTH_PROXY_PATH)
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)
    emulator.set_new_instance_health("ok")
    return emulator


# --- where we look ------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    """The message, the repr and the whole chained traceback."""
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def prefect_texts(since: dt.datetime) -> dict[str, str]:
    """What the Prefect API holds about the runs started since ``since``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterFlowRunId,
    )

    runs_filter = FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since))
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=runs_filter)
        ids = [r.id for r in runs]
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
        task_runs = recorded_task_runs(client, runs_filter)
        artifacts = client.read_artifacts()
    assert runs and logs, "the runs and their logs must have reached the Prefect API"
    return {
        "flow runs": "\n".join(r.model_dump_json() for r in runs),
        "task runs": "\n".join(r.model_dump_json() for r in task_runs),
        "logs": "\n".join(f"{log.name} {log.message}" for log in logs),
        "artifacts": "\n".join(f"{a.key} {a.description} {a.data}" for a in artifacts),
    }


def recorded_task_runs(client: SyncPrefectClient, runs_filter: FlowRunFilter) -> list[TaskRun]:
    """The runs' task runs once the server has recorded each in a final state: it writes
    them in batches (tests/prefect_server_settings.py), each within a second or so."""
    deadline = time.monotonic() + 30
    while True:
        task_runs = client.read_task_runs(flow_run_filter=runs_filter)
        if task_runs and all(run.state is not None and run.state.is_final() for run in task_runs):
            return list(task_runs)
        if time.monotonic() > deadline:
            pytest.fail(f"task runs not all recorded in a final state after 30 s: {task_runs}")
        time.sleep(0.5)


def database_files() -> list[Path]:
    """The harness's SQLite database and its journal files."""
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    assert url and url.startswith("sqlite"), url
    database = Path(url.split("///", 1)[1])
    files = sorted(database.parent.glob(database.name + "*"))
    assert database in files
    return files


def files_under(roots: Iterable[Path]) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def canary_hits(texts: dict[str, str], files: Iterable[Path]) -> list[str]:
    """Where any canary shows up: ``"<place>: <canary>"`` for each hit."""
    hits = [f"{place}: {c}" for place, text in texts.items() for c in CANARIES if c in text]
    for path in files:
        data = path.read_bytes()
        hits += [f"{path}: {c}" for c in CANARIES if c.encode() in data]
    return hits


def look_everywhere(
    since: dt.datetime,
    texts: dict[str, str],
    roots: Iterable[Path],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    receiver: Receiver,
) -> list[str]:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    out, err = capfd.readouterr()
    everything = {
        **texts,
        **prefect_texts(since),
        "caplog": caplog.text,
        "stdout": out,
        "stderr": err,
        "notices": "\n".join(body for _, body in receiver.received),
    }
    state = Path(os.environ["ORCHESTRA_STATE_DIR"])
    return canary_hits(everything, [*database_files(), *files_under([state, *roots])])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


# --- the flows ------------------------------------------------------------------------------


def _infra(tmp_path: Path) -> Path:
    return copy_projects(tmp_path / "pulumi")


def _provisioning(infra: Path) -> ProvisioningParams:
    return ProvisioningParams(
        environment="dev",
        infrastructure_dir=str(infra),
        health=HealthParams(consecutive=2, interval_s=0.05, budget_s=5, fail_fast_after=2),
    )


def test_provisioning_and_its_rollback_leave_no_canary(
    lambda_env: LambdaCloudEmulator,
    webhook: tuple[Receiver, ServedApp],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Blue comes up with the canary key; green fails health and is rolled back."""
    caplog.set_level(logging.DEBUG)
    receiver, _ = webhook
    since, infra = _now(), _infra(tmp_path)
    first = lambda_provisioning(_provisioning(infra))
    assert first.outcome == "provisioned"  # the emulator accepts only the canary key
    lambda_env.set_new_instance_health("fail")
    receiver.status = 500  # the notice fails too: its failure is logged, never its URL
    with pytest.raises(RolledBack) as rolled_back:
        lambda_provisioning(_provisioning(infra))
    assert receiver.received and all(HOOK_CANARY in path for path, _ in receiver.received)

    texts = {
        "report": first.model_dump_json(),
        "rollback error": error_text(rolled_back.value),
    }
    assert look_everywhere(since, texts, [infra], caplog, capfd, receiver) == []


def test_a_refused_lambda_key_is_not_echoed(
    lambda_env: LambdaCloudEmulator,
    webhook: tuple[Receiver, ServedApp],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A wrong key fails the run with LambdaUnauthorized naming the variable, not the value."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", WRONG_LAMBDA_CANARY)
    since, infra = _now(), _infra(tmp_path)
    with pytest.raises(LambdaUnauthorized, match="LAMBDA_LABS_API_KEY") as refused:
        lambda_provisioning(_provisioning(infra))
    texts = {"error": error_text(refused.value)}
    assert look_everywhere(since, texts, [infra], caplog, capfd, webhook[0]) == []


def test_security_scan_with_a_canary_webhook(
    webhook: tuple[Receiver, ServedApp],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The gate fails, the notice reaches the canary URL, and the URL is nowhere else."""
    caplog.set_level(logging.DEBUG)
    receiver, _ = webhook
    feeds = Feeds()
    db = feeds.write_safety_db(tmp_path / "safety-db")
    repo = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, repo)
    since = _now()
    with feeds.serve() as served:
        monkeypatch.setenv("ORCHESTRA_OSV_API_URL", served.osv.url)
        monkeypatch.setenv("ORCHESTRA_NPM_REGISTRY_URL", served.npm.url)
        monkeypatch.setenv("ORCHESTRA_SAFETY_AUTH_SERVER_URL", served.safety.url)
        # relative, as the security flow tests do: the scanners run in each manifest's dir
        monkeypatch.setenv("ORCHESTRA_SAFETY_DB_DIR", os.path.relpath(db))
        with pytest.raises(SecurityGateFailed) as failed:
            security_scan(SecurityScanParams(repo_path=str(repo), write_update_config=True))
    assert len(receiver.received) == 1 and HOOK_CANARY in receiver.received[0][0]
    texts = {"error": error_text(failed.value)}
    assert look_everywhere(since, texts, [repo], caplog, capfd, receiver) == []


@pytest.mark.node
@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_frontend_migration_with_a_canary_vercel_token(
    webhook: tuple[Receiver, ServedApp],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The Vercel emulator takes only the canary token; the migration still leaks nothing."""
    caplog.set_level(logging.DEBUG)
    vercel = VercelEmulator(token=VERCEL_CANARY, team_id=TEAM_ID)
    repo = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, repo)

    async def api(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "path": request.url.path})

    since = _now()
    with (
        serve_in_thread(vercel.app(), name="vercel-api") as vercel_api,
        serve_in_thread(vercel.edge_app(), name="vercel-edge") as edge,
        serve_in_thread(Starlette(routes=[Route("/{path:path}", api)])) as backend,
    ):
        monkeypatch.setenv("VERCEL_API_URL", vercel_api.url)
        monkeypatch.setenv("VERCEL_TOKEN", VERCEL_CANARY)
        monkeypatch.setenv("VERCEL_ORG_ID", TEAM_ID)
        monkeypatch.setenv("VERCEL_EDGE_URL", edge.url)
        report = frontend_migration(
            FrontendMigrationParams(
                repo_path=str(repo),
                app="admin-interface",
                project="orchestra-admin",
                backend_api_url=backend.url,
                env_overrides={"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Orchestra Admin"},
                health=HealthParams(
                    consecutive=2, interval_s=0.05, budget_s=5, body_marker="Orchestra"
                ),
            )
        )
    assert report.outcome == "migrated", report
    texts = {"report": report.model_dump_json(), "emulator": json.dumps(repr(vercel))}
    assert look_everywhere(since, texts, [repo], caplog, capfd, webhook[0]) == []
