"""End to end through a real Prefect server and process worker, as people use the product.

One module-wide stack: ``prefect server start`` (SQLite in a private PREFECT_HOME), the
sandbox in-process, the pool and every deployment of ``prefect.yaml`` created by the CLI,
and one ``prefect worker start`` whose flow runs reach the sandbox. The provisioning runs
take their stacks through the Pulumi CLI (``make pulumi``) on a file backend in the state
dir, the dynamic providers in their plugin processes, as a production worker does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.prefect_deployments import PrefectDeployments
from orchestra_ops.adapters.pulumi.backend import state_owner
from orchestra_ops.domain.provisioning import live_instances_of
from orchestra_ops.errors import InvalidRequest
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import PulumiSettings
from orchestra_ops.trigger import Exit
from tests import loopback
from tests.e2e.prefect_processes import (
    BIN,
    FINAL,
    POOL,
    PREFECT,
    REPO,
    SECURITY,
    cli,
    copy_target,
    environment,
    free_port,
    headless_chromium,
    snapshot_source,
    start,
    stop,
    wait_healthy,
    worker_environment,
)
from tests.flows.provisioning_support import copy_projects
from tests.prefect_database import server_home
from tests.pulumi_cli import needs_pulumi_cli

PROVISIONING = "lambda-provisioning/lambda-provisioning"
SILENCE_S = 45  # the zombie automation's window here (300 s in `make deploy`)
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


pytestmark = pytest.mark.slow


@dataclass
class Stack:
    """The running server, worker and sandbox, and where their pieces are."""

    api_url: str
    ui_url: str
    env: dict[str, str]
    infra: Path
    target: Path
    state_dir: Path
    endpoints: Endpoints
    worker_log: Path
    sandbox: Sandbox
    alerts: list[dict[str, Any]] = field(default_factory=list)  # what the alert webhook got

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the server's REST API (JSON in, JSON out); a busy SQLite server's 503
        is asked again, as Prefect's client does."""
        with loopback.Client(base_url=self.api_url, timeout=30) as client:
            for attempt in range(4):
                answer = client.request(method, path, json=body)
                if answer.status_code != 503:
                    break
                time.sleep(1 + attempt)
        answer.raise_for_status()
        return answer.json()

    def worker_tail(self, lines: int = 40) -> str:
        """The worker's last log lines (the flow-run processes write there too)."""
        text = self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_final(self, run_id: str, timeout_s: float = 150) -> dict[str, Any]:
        """Poll the run until it reaches a final state; fail with the worker's log if not."""
        deadline = time.monotonic() + timeout_s
        while True:
            run: dict[str, Any] = self.api("GET", f"/flow_runs/{run_id}")
            if run["state"]["type"] in FINAL:
                return run
            if time.monotonic() > deadline:
                pytest.fail(f"run {run_id} still {run['state']['name']}:\n{self.worker_tail()}")
            time.sleep(1)

    def assert_completed(self, run: dict[str, Any]) -> None:
        """The run completed; otherwise say why, with the worker's last lines."""
        state = run["state"]
        assert state["type"] == "COMPLETED", (
            f"run {run['name']} ended {state['name']}: {state.get('message')}\n"
            f"--- worker log ---\n{self.worker_tail()}"
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Server, sandbox, pool, deployments and worker; all stopped at the end, even on failure."""
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = environment(server_home(tmp / "prefect-home"), api_url)
    with contextlib.ExitStack() as cleanup:
        server_log = tmp / "server.log"
        server = start(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env,
            server_log,
        )
        cleanup.callback(stop, server)
        sandbox = Sandbox(tmp / "sandbox")
        endpoints = cleanup.enter_context(sandbox)
        infra, target = copy_projects(tmp / "pulumi"), copy_target(tmp)
        worker_env = worker_environment(env, endpoints, tmp / "state", target)
        wait_healthy(api_url, server, server_log)
        cli(["work-pool", "create", POOL, "--type", "process"], env)
        cli(["--no-prompt", "deploy", "--all"], {**worker_env, **snapshot_source(tmp)})
        closed = run_module("deployments.parameter_schemas", env=env)  # as `make deploy` does
        assert f"closed the parameter schema of {PROVISIONING}" in closed
        alerts: list[dict[str, Any]] = []
        hook = cleanup.enter_context(serve_in_thread(_webhook(alerts), name="alert-webhook"))
        env = {**env, "ORCHESTRA_NOTIFY_WEBHOOK_URL": f"{hook.url}/services/T/B/e2e-secret"}
        automations = run_module("deployments.automations", "--silence-s", str(SILENCE_S), env=env)
        assert "created 'orchestra-ops: crashed when heartbeats stop'" in automations
        assert "created 'orchestra-ops alert: Failed'" in automations
        again = run_module("deployments.automations", "--silence-s", str(SILENCE_S), env=env)
        assert "created" not in again and "updated" not in again, again  # twice: no change
        assert "e2e-secret" not in automations + again
        worker_log = tmp / "worker.log"
        worker = start(
            [PREFECT, "worker", "start", "--pool", POOL, "--work-queue", "default"],
            worker_env,
            worker_log,
        )
        cleanup.callback(stop, worker)
        yield Stack(
            api_url=api_url,
            ui_url=f"http://127.0.0.1:{port}",
            env=worker_env,
            infra=infra,
            target=target,
            state_dir=tmp / "state",
            endpoints=endpoints,
            worker_log=worker_log,
            sandbox=sandbox,
            alerts=alerts,
        )


def _webhook(received: list[dict[str, Any]]) -> Starlette:
    """A Slack-like incoming webhook on loopback that records every JSON body."""

    async def hook(request: Request) -> PlainTextResponse:
        received.append(await request.json())
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/services/{path:path}", hook, methods=["POST"])])


def test_security_scan_run_from_the_cli_completes_and_reports(stack: Stack) -> None:
    """`prefect deployment run`; the example's findings are reported, not fatal, on request."""
    params = {"params": {"repo_path": str(stack.target), "fail_on_findings": False}}
    out = cli(["deployment", "run", SECURITY, "--params", json.dumps(params)], stack.env)
    found = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert found, out
    run = stack.wait_final(found.group(1))
    stack.assert_completed(run)
    report_file = stack.state_dir / "security" / stack.target.name / "report.json"
    report = json.loads(report_file.read_text())
    # The gate failed on the example's findings (not on a scanner error), yet the run completed.
    assert report["passed"] is False and report["summary"]["failing"] > 0
    assert report["scan_errors"] == [], report["scan_errors"]


def test_a_scan_that_finds_vulnerabilities_ends_policy_violation_and_alerts(stack: Stack) -> None:
    """A real worker's weekly scan: the gate's findings end in the state PolicyViolation (not
    a plain Failed), and the server's Failed automation tells the webhook it is findings."""
    params = {"params": {"repo_path": str(stack.target)}}
    out = cli(["deployment", "run", SECURITY, "--params", json.dumps(params)], stack.env)
    found = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert found, out
    state = stack.wait_final(found.group(1))["state"]
    assert (state["type"], state["name"]) == ("FAILED", "PolicyViolation"), state
    assert re.search(r"[1-9]\d* findings at or above high, 0 scan errors", state["message"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        texts = [str(a.get("text")) for a in stack.alerts]
        said = [t for t in texts if "weekly-security-scan PolicyViolation" in t]
        if said:
            break
        time.sleep(1)
    assert said, texts
    assert "Findings, not a breakage" in said[0] and found.group(1) in said[0]


def _instances(endpoints: Endpoints, state_dir: Path) -> int:
    key, owner = SecretStr(endpoints.lambda_api_key), state_owner(PulumiSettings(), state_dir)
    with LambdaCloudClient(endpoints.lambda_api_url, key) as api:
        return len(live_instances_of(api.list_instances(), "dev", owner=owner))


def _provisioning(stack: Stack, **changes: object) -> dict[str, Any]:
    health = {"consecutive": 2, "interval_s": 0.2, "budget_s": 20}
    params = {"environment": "dev", "infrastructure_dir": str(stack.infra), "health": health}
    return {"params": {**params, **changes}}


@pytest.mark.pulumi_cli
@needs_pulumi_cli
def test_rest_run_is_idempotent_and_provisions_one_instance(stack: Stack) -> None:
    """`orchestra-ops trigger` twice with one key: one run; --wait follows it to Completed,
    with one live instance."""
    key = f"e2e-{uuid.uuid4()}"
    params = json.dumps(_provisioning(stack))
    first = _trigger(stack, PROVISIONING, "--params", params, "--key", key)
    assert first.returncode == Exit.DONE, first.stderr
    again = _trigger(stack, PROVISIONING, "--params", params, "--key", key, "--wait")
    assert again.returncode == Exit.DONE, f"{again.stdout}\n{again.stderr}\n{stack.worker_tail()}"
    run_id = _run_id(first.stdout)
    assert _run_id(again.stdout) == run_id
    assert again.stdout.strip().splitlines()[-1].endswith(": Completed")
    stack.assert_completed(stack.wait_final(run_id))
    assert _instances(stack.endpoints, stack.state_dir) == 1
    # The worker's engine kept the stacks' state in its file backend, instance included.
    state = stack.state_dir / "pulumi" / "state" / ".pulumi" / "stacks" / "orchestra-backend"
    checkpoint = json.loads((state / "dev.json").read_text())
    types = [r["type"] for r in checkpoint["checkpoint"]["latest"]["resources"]]
    assert types.count("pulumi-python:dynamic/lambda:Instance") == 1, types


def _trigger(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``orchestra-ops trigger ARGS`` against the stack's server."""
    return subprocess.run(
        [str(BIN / "orchestra-ops"), "trigger", *args],
        cwd=REPO,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _run_id(stdout: str) -> str:
    found = re.search(r"^run \S+ \(([0-9a-f-]{36})\)", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


@contextlib.contextmanager
def _server(stack: Stack) -> Iterator[PrefectDeployments]:
    """Prefect's client on the stack's server, through the trigger's adapter."""
    with temporary_settings({PREFECT_API_URL: stack.api_url}), PrefectDeployments() as server:
        yield server


def _run_count(stack: Stack, deployment_id: str) -> int:
    body = {"deployments": {"id": {"any_": [deployment_id]}}}
    return int(stack.api("POST", "/flow_runs/count", body))


def test_invalid_instance_type_is_refused_by_the_server(stack: Stack) -> None:
    """The deployment enforces the parameter schema, closed by `make deploy`: no run is
    created for a bad value, an unknown field or an unknown top-level key."""
    with _server(stack) as server:
        deployment = server.deployment(PROVISIONING)
        before = _run_count(stack, deployment.id)
        for request, field in [
            (_provisioning(stack, instance_type="huge!"), "params.instance_type"),
            (_provisioning(stack, colour="blue"), "'colour' was unexpected"),
            ({**_provisioning(stack), "priority": 1}, "'priority' was unexpected"),
        ]:
            with pytest.raises(InvalidRequest, match=re.escape(field)):
                server.create_run(deployment, request, f"e2e-{uuid.uuid4()}")
    assert _run_count(stack, deployment.id) == before


def test_weekly_scan_is_scheduled_on_mondays_at_six_in_los_angeles(stack: Stack) -> None:
    """The scheduler's next runs of the security deployment, read back from the API."""
    deployment_id = stack.api("GET", f"/deployments/name/{SECURITY}")["id"]
    body = {
        "deployments": {"id": {"any_": [deployment_id]}},
        "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
        "sort": "EXPECTED_START_TIME_ASC",
        "limit": 5,
    }
    deadline = time.monotonic() + 90
    runs: list[dict[str, Any]] = stack.api("POST", "/flow_runs/filter", body)
    while len(runs) < 3 and time.monotonic() < deadline:
        time.sleep(2)
        runs = stack.api("POST", "/flow_runs/filter", body)
    assert len(runs) >= 3, f"only {len(runs)} scheduled runs"
    starts = [dt.datetime.fromisoformat(r["expected_start_time"]) for r in runs]
    local = [start.astimezone(LOS_ANGELES) for start in starts]
    assert all((t.weekday(), t.hour, t.minute) == (0, 6, 0) for t in local), local
    assert all((b.date() - a.date()).days == 7 for a, b in itertools.pairwise(local))
    assert starts[0] > dt.datetime.now(dt.UTC)


class _Text(HTMLParser):
    """The visible text of a page (no script or style)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _chromium(stack: Stack, profile: Path, *args: str) -> str:
    return headless_chromium(f"{stack.ui_url}/deployments", profile, *args)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not on PATH")
def test_ui_lists_every_deployment_by_name(stack: Stack, tmp_path: Path) -> None:
    """The server's own UI, rendered by headless Chromium, names every deployment."""
    names = [d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]]
    parser = _Text()
    screenshot = tmp_path / "deployments.png"  # one Chromium run: the DOM and its picture
    parser.feed(_chromium(stack, tmp_path / "profile", "--dump-dom", f"--screenshot={screenshot}"))
    text = set(parser.parts)
    assert not [n for n in names if n not in text], f"missing from the UI: {parser.parts}"
    assert screenshot.stat().st_size > 0
    print(f"UI screenshot: {screenshot}")


RUN_FORMS = {  # deployment -> fields its form must show, and a placeholder a description holds
    PROVISIONING: ({"environment", "ttl_hours", "approval_timeout_s", "regions", "count"}, ""),
    "frontend-migration/frontend-migration": ({"production_url", "health"}, "{project}"),
    "stack-reorganisation/stack-reorganisation": ({"literal_4a_rename"}, "Pulumi.{name}.yaml"),
}
UIS = {"v1": "", "v2": "/v2"}  # `prefect server start` serves both: v2 at `/`, v1 on a switch


def _form_fields(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, title, description) of every field the run form shows without a click: a
    model's fields are laid out under its own title, nested models too (open by default)."""
    definitions = schema.get("definitions", {})

    def walk(node: dict[str, Any], where: str) -> Iterator[tuple[str, str, str]]:
        for name, prop in node.get("properties", {}).items():
            model = definitions.get(str(prop.get("$ref", "")).rsplit("/", 1)[-1], {})
            description = prop.get("description") or model.get("description", "")
            yield f"{where}.{name}", prop.get("title", name), description
            yield from walk(model, f"{where}.{name}")

    return list(walk(schema, "$"))


def _squeezed(text: str) -> str:
    """Text without whitespace or backticks: v1 renders a description as Markdown (`code`
    becomes an element of its own), v2 as plain text, and lines wrap as they fit."""
    return re.sub(r"[\s`]+", "", text)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not on PATH")
@pytest.mark.parametrize("ui", sorted(UIS))
@pytest.mark.parametrize("name", sorted(RUN_FORMS))
def test_ui_run_form_shows_titles_and_whole_descriptions(
    stack: Stack, tmp_path: Path, name: str, ui: str
) -> None:
    """A deployment's "Custom run" page, rendered by headless Chromium: every field the form
    shows carries the title its schema writes for people (never "Ttl Hours" or "params"),
    and every description reads whole, placeholders included (Markdown ate `<project>`)."""
    deployment = stack.api("GET", f"/deployments/name/{name}")
    fields = _form_fields(deployment["parameter_openapi_schema"])
    names = {where.rsplit(".", 1)[-1] for where, _, _ in fields}
    must_show, placeholder = RUN_FORMS[name]
    assert must_show <= names, f"the deployed schema lacks {must_show - names}: {fields}"
    url = f"{stack.ui_url}{UIS[ui]}/deployments/deployment/{deployment['id']}/run"
    flow = name.split("/", 1)[0]
    screenshot = tmp_path / f"run-form-{flow}{'-v2' if ui == 'v2' else ''}.png"
    parser = _Text()
    parser.feed(
        headless_chromium(url, tmp_path / "profile", "--dump-dom", f"--screenshot={screenshot}")
    )
    assert "Parameters" in parser.parts, f"no run form at {url}: {parser.parts}"
    titles = {part.removesuffix(" (Optional)") for part in parser.parts}
    missing = [f"{where}: {title!r}" for where, title, _ in fields if title not in titles]
    assert not missing, f"titles not on the form: {missing}\n{parser.parts}"
    mechanical = {  # Prefect's parameter name and pydantic's title of a field ("Ttl Hours")
        spelling
        for where, _, _ in fields
        for python_name in [where.rsplit(".", 1)[-1]]
        if "_" in python_name or where.count(".") == 1  # "Environment" is both
        for spelling in (python_name, python_name.replace("_", " ").title())
    }
    assert not titles & mechanical, sorted(titles & mechanical)
    text = _squeezed("".join(parser.parts))
    cut = [f"{where}: {said!r}" for where, _, said in fields if _squeezed(said) not in text]
    assert not cut, f"descriptions not shown whole: {cut}\n{parser.parts}"
    assert placeholder in text and "://." not in text and "..yaml" not in text, parser.parts
    assert screenshot.stat().st_size > 0
    print(f"run form screenshot ({ui}): {screenshot}")


def run_module(module: str, *args: str, env: dict[str, str]) -> str:
    """``python -m module args`` in the repo; its stdout, failing the test if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{module}: {done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def flow_run_pids(run_id: str) -> list[int]:
    """The live processes that carry ``run_id`` (PREFECT__FLOW_RUN_ID or on their command)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            command = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        mine = f"PREFECT__FLOW_RUN_ID={run_id}".encode() in environ or run_id.encode() in command
        if mine and state != "Z":
            pids.append(int(proc.name))
    return pids


def heartbeats(stack: Stack, run_id: str) -> int:
    """How many heartbeat events the server has for ``run_id``."""
    page = stack.api(
        "POST",
        "/events/filter",
        {
            "filter": {
                "event": {"name": ["prefect.flow-run.heartbeat"]},
                "resource": {"id": [f"prefect.flow-run.{run_id}"]},
            },
            "limit": 50,
        },
    )
    return len(page["events"])


@pytest.mark.pulumi_cli
@needs_pulumi_cli
def test_a_run_whose_process_died_is_listed_stuck_marked_crashed_and_frees_its_slot(
    stack: Stack, tmp_path: Path
) -> None:
    """A provisioning run executed outside any worker, then SIGKILLed (a machine that died):
    nothing reports it, so `recover` lists it, the heartbeat automation marks it Crashed,
    and the deployment's one slot is free for the next request."""
    cli(["work-queue", "create", "unpolled", "--pool", POOL], stack.env)
    with _server(stack) as server:
        deployment = server.deployment(PROVISIONING).id
    first = stack.api(
        "POST",
        f"/deployments/{deployment}/create_flow_run",
        {"parameters": _provisioning(stack), "work_queue_name": "unpolled"},
    )["id"]
    stack.sandbox.lambda_cloud.state.boot_delay_s = 900.0  # the launch lands, then boots
    env = {**stack.env, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
    # The run's pull step clones into the working directory: a scratch one, not the repo.
    runner = start([PREFECT, "flow-run", "execute", first], env, tmp_path / "run.log", tmp_path)
    try:
        deadline = time.monotonic() + 180
        while not (
            stack.api("GET", f"/flow_runs/{first}")["state"]["type"] == "RUNNING"
            and heartbeats(stack, first) > 0
            and stack.sandbox.lambda_cloud.state.instances
        ):
            assert runner.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()[-3000:]
            time.sleep(1)
        # Killed right after a heartbeat: `recover` must see it stuck (20 s without one)
        # before the automation marks it (SILENCE_S after the last one); a kill long after
        # a heartbeat on a loaded machine let the automation win that race.
        seen, deadline = heartbeats(stack, first), time.monotonic() + 60
        while heartbeats(stack, first) == seen:
            assert runner.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no heartbeat for 60 s from a live run"
            time.sleep(0.5)
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
        # The engine runs the flow in a process of its own, which starts the Pulumi CLI and
        # its plugins: a machine that dies takes them all, so kill until none is left (one
        # may have been starting while the others were killed).
        deadline = time.monotonic() + 20
        while (left := flow_run_pids(first)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        assert flow_run_pids(first) == []
        time.sleep(25)  # no heartbeat since the kill
        listed = subprocess.run(
            [
                str(BIN / "orchestra-ops"),
                "recover",
                "--json",
                "--stuck-after-s",
                "20",
                "--infrastructure-dir",
                str(stack.infra),
                "--environment",
                "dev",
            ],
            cwd=REPO,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        report = json.loads(listed.stdout)
        state_now = stack.api("GET", f"/flow_runs/{first}")["state"]
        assert first in [r["id"] for r in report["runs"]["stuck"]], (state_now, listed.stdout)
        assert listed.returncode == 1  # something is left open
        crashed = stack.wait_final(first, timeout_s=SILENCE_S + 90)
        assert crashed["state"]["type"] == "CRASHED", crashed["state"]
        assert "no heartbeat" in (crashed["state"].get("message") or "")
    finally:
        stop(runner)
        stack.sandbox.lambda_cloud.state.boot_delay_s = 0.0
    with _server(stack) as server:
        request = _provisioning(stack)
        second = server.create_run(server.deployment(PROVISIONING), request, None).id
    stack.assert_completed(stack.wait_final(second, timeout_s=240))
