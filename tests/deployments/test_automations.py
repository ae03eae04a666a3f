"""`python -m deployments.automations` against the real Prefect test server.

The alert automations and their notification block are created once, a second run changes
nothing, a changed definition is updated in place, and a Failed, a PolicyViolation, a
Crashed and a Late run of a watched deployment, and its work pool left without a worker,
reach a webhook receiver on 127.0.0.1 through the server's own automation services
(triggers and actions), never naming the URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.states import Crashed, Failed, Late, Running
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from deployments.alerts import ALERT_PREFIX, ALERTS, BLOCK_NAME
from deployments.automations import ZOMBIE_NAME, main
from orchestra_ops.sandbox.server import serve_in_thread

pytestmark = pytest.mark.usefixtures("prefect_harness")

CANARY = "alert-canary-7c1e-DO-NOT-LEAK"
PROBE = "alert-probe-deployment"  # a deployment no other test creates
POOL = "alert-probe-pool"


@pytest.fixture(scope="module")
def received() -> Iterator[tuple[list[dict[str, Any]], str]]:
    """A Slack-like webhook on loopback whose secret is in the path; what it was sent."""
    bodies: list[dict[str, Any]] = []

    async def hook(request: Request) -> PlainTextResponse:
        if request.url.path.endswith(CANARY):
            bodies.append(await request.json())
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/services/{path:path}", hook, methods=["POST"])])
    with serve_in_thread(app, name="alert-webhook") as served:
        yield bodies, f"{served.url}/services/T1/B1/{CANARY}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A prefect.yaml listing two deployments; every automation and the block removed after."""
    yaml_file = tmp_path / "prefect.yaml"
    yaml_file.write_text(
        f"deployments:\n  - name: {PROBE}\n    work_pool: {{name: {POOL}}}\n"
        "  - name: weekly-security-scan\n"
    )
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    yield yaml_file
    with get_client(sync_client=True) as client:
        for name in [ZOMBIE_NAME, *(a.name for a in ALERTS)]:
            for automation in client.read_automations_by_name(name):
                client.delete_automation(automation.id)
    try:
        CustomWebhookNotificationBlock.delete(BLOCK_NAME)
    except ValueError:
        pass


def _run(yaml_file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--prefect-yaml", str(yaml_file), "--env-file", str(yaml_file.parent / ".env")])
    out, err = capsys.readouterr()
    return code, out, err


def _alert_counts() -> dict[str, int]:
    with get_client(sync_client=True) as client:
        return {a.name: len(client.read_automations_by_name(a.name)) for a in ALERTS}


def test_without_a_webhook_no_alert_is_created_and_it_says_so(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No silent skip: the missing setting is named, and no sending automation exists."""
    code, out, err = _run(project, capsys)
    assert code == 0
    assert f"created {ZOMBIE_NAME!r}" in out
    said = "no Failed/Crashed/Late/No worker alert automations: ORCHESTRA_NOTIFY_WEBHOOK_URL"
    assert f"{said} is not set" in err
    assert _alert_counts() == {a.name: 0 for a in ALERTS}


def test_alerts_are_created_once_and_a_changed_definition_is_updated(
    project: Path,
    received: tuple[list[dict[str, Any]], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First run creates, second changes nothing, a new deployment updates in place."""
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", received[1])
    code, out, err = _run(project, capsys)
    assert code == 0, err
    assert f"created notification block {BLOCK_NAME!r}" in out
    for alert in ALERTS:
        assert f"created {alert.name!r}" in out
    code, again, err = _run(project, capsys)
    assert code == 0, err
    assert [line.split()[0] for line in again.splitlines()] == ["unchanged"] * 6, again
    project.write_text(project.read_text() + "  - name: another-deployment\n")
    code, changed, err = _run(project, capsys)
    assert code == 0, err
    assert f"unchanged notification block {BLOCK_NAME!r}" in changed
    for alert in ALERTS:  # the pool alert watches the pools, which did not change
        done = "unchanged" if alert.kind == "work-pool" else "updated"
        assert f"{done} {alert.name!r}" in changed
    assert _alert_counts() == {a.name: 1 for a in ALERTS}  # nothing duplicated
    with get_client(sync_client=True) as client:
        failed = client.read_automations_by_name(ALERT_PREFIX + "Failed")[0]
    assert "another-deployment" in str(failed.trigger)
    # the block keeps the URL as a secret: its plain fields only name the placeholder
    block = CustomWebhookNotificationBlock.load(BLOCK_NAME)
    assert CANARY not in block.url and CANARY not in str(block.secrets)
    assert CANARY not in out + again + changed + err


def _wait_for(bodies: list[dict[str, Any]], count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(bodies) < count and time.monotonic() < deadline:
        time.sleep(0.5)


def test_failed_crashed_and_late_runs_reach_the_webhook(
    project: Path,
    received: tuple[list[dict[str, Any]], str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each state change of a watched deployment's run sends one notice; others send none."""
    bodies, url = received
    bodies.clear()
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", url)
    assert _run(project, capsys)[0] == 0
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("alert-probe")
        watched = client.create_deployment(flow_id=flow_id, name=PROBE)
        other = client.create_deployment(flow_id=flow_id, name="not-watched")
        ends = [
            (watched, Failed(name="PolicyViolation", message="security gate failed: 3 findings")),
            (watched, Failed(message="ValueError: the stack is broken")),
            (watched, Crashed(message="process killed")),
            (other, Failed(message="nobody is told")),
        ]
        for deployment, end in ends:
            run = client.create_flow_run_from_deployment(deployment)
            client.set_flow_run_state(run.id, Running(), force=True)
            client.set_flow_run_state(run.id, end, force=True)
        late = client.create_flow_run_from_deployment(watched)
        client.set_flow_run_state(late.id, Late(), force=True)
        # A new pool has no worker: the server emits prefect.work-pool.not-ready for it.
        for name in (POOL, "unwatched-pool"):
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
    _wait_for(bodies, 5)
    time.sleep(3)  # a notice for the unwatched deployment would have arrived by now
    texts = sorted(str(b["text"]) for b in bodies)
    assert len(texts) == 5, texts
    violation = next(t for t in texts if "PolicyViolation" in t)
    assert "Findings, not a breakage" in violation and "3 findings" in violation
    broken = next(t for t in texts if "the stack is broken" in t)
    assert "something is broken" in broken and f"{PROBE} Failed" in broken
    assert any(f"{PROBE} crashed" in t and "orchestra-ops recover" in t for t in texts)
    late_text = next(t for t in texts if f"{PROBE} is late" in t)
    assert "worker" in late_text and late_text.endswith("State: Late"), late_text
    assert "None" not in "".join(texts), texts  # no unset value rendered as None
    assert not any("nobody is told" in t or "unwatched-pool" in t for t in texts)
    no_worker = next(t for t in texts if f"no worker polls {POOL}" in t)
    assert f"prefect worker start --pool {POOL}" in no_worker
