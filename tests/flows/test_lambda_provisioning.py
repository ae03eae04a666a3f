"""Track 2 on the sandbox: blue-green provisioning, rollback, refusals, dry run, TTL cleanup.

The Pulumi CLI is not installable here, so the stacks run on ProgramUnderMocksEngine
(tests/doubles): the real programs and the real dynamic providers against the emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.lambda_provisioning import (
    ProvisioningParams,
    lambda_provisioning,
    lambda_ttl_cleanup,
)
from flows.params import HealthParams
from orchestra_ops.domain.lambda_cloud import Instance
from orchestra_ops.domain.provisioning import Lease, live_instances_of
from orchestra_ops.errors import ConfigError, InsufficientCapacity, RollbackFailed, RolledBack
from orchestra_ops.sandbox.faults import Fault
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import serve_in_thread
from tasks.provisioning import write_lease
from tests.doubles.program_engine import copy_projects
from tests.killing import flow_in_worker, kill_when

DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Endpoints]]:
    runner = Sandbox(tmp_path / "sandbox")
    with runner as endpoints:
        yield runner, endpoints


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    """A copy of the infrastructure projects: the engine writes stack config next to them."""
    return copy_projects(tmp_path / "pulumi")


@pytest.fixture(autouse=True)
def environment(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in sandbox[1].as_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """A Slack-compatible webhook on loopback, recording what it is sent."""
    received: list[dict[str, object]] = []

    async def hook(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"ok": True})

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as served:
        monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", f"{served.url}/hook")
        yield received


def params(infra: Path, **changes: object) -> ProvisioningParams:
    base: dict[str, object] = {
        "environment": "dev",
        "infrastructure_dir": str(infra),
        "health": HealthParams(consecutive=2, interval_s=0.05, budget_s=5, fail_fast_after=2),
    }
    base.update(changes)
    return ProvisioningParams.model_validate(base)


def api_instances(sandbox: tuple[Sandbox, Endpoints], environment: str = "dev") -> list[Instance]:
    from pydantic import SecretStr

    from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient

    endpoints = sandbox[1]
    with LambdaCloudClient(endpoints.lambda_api_url, SecretStr(endpoints.lambda_api_key)) as api:
        return live_instances_of(api.list_instances(), environment)


def colour_of(instance: Instance) -> str:
    return {t.key: t.value for t in instance.tags}["colour"]


def test_first_run_serves_blue_and_the_next_run_switches_to_green(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    first = lambda_provisioning(params(infra))
    assert first.outcome == "provisioned" and first.serving_colour == "blue"
    (blue,) = api_instances(sandbox)
    assert colour_of(blue) == "blue" and first.instance_ids == [blue.id]
    assert first.api_url == "http://127.0.0.1:8000"
    assert any("healthy" in line for line in first.health)

    second = lambda_provisioning(params(infra))
    assert second.serving_colour == "green"
    (green,) = api_instances(sandbox)
    assert colour_of(green) == "green" and second.instance_ids == [green.id]
    assert green.id != blue.id  # blue was torn down only after green served


def test_unhealthy_green_is_rolled_back_and_blue_keeps_serving(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    runner = sandbox[0]
    lambda_provisioning(params(infra))
    (blue,) = api_instances(sandbox)
    stack_file = (infra / "backend" / "Pulumi.dev.yaml").read_text()
    runner.lambda_cloud.set_new_instance_health("fail")

    with pytest.raises(RolledBack) as raised:
        lambda_provisioning(params(infra))

    assert raised.value.restored
    assert "no green instance left" in str(raised.value)
    assert [i.id for i in api_instances(sandbox)] == [blue.id]
    assert "green" not in (infra / "backend" / "Pulumi.dev.yaml").read_text().split("active")[0]
    del stack_file
    # The next run, with a healthy release, proceeds from blue as if nothing happened.
    runner.lambda_cloud.set_new_instance_health("ok")
    again = lambda_provisioning(params(infra))
    assert again.serving_colour == "green"
    assert [colour_of(i) for i in api_instances(sandbox)] == ["green"]


def test_first_run_that_never_gets_healthy_leaves_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    sandbox[0].lambda_cloud.set_new_instance_health("fail")
    with pytest.raises(RolledBack):
        lambda_provisioning(params(infra))
    assert api_instances(sandbox) == []


def test_launch_that_succeeded_but_answered_500_is_adopted_not_doubled(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    runner = sandbox[0]
    runner.lambda_cloud.plan.add(
        Fault(
            method="POST",
            path="/api/v1/instance-operations/launch",
            mode="after_effect",
            status=500,
            count=1,
        )
    )
    report = lambda_provisioning(params(infra))
    assert report.outcome == "provisioned"
    assert len(api_instances(sandbox)) == 1


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"count": 16, "max_usd_per_hour": 1.0}, ConfigError, "above the ceiling"),
        ({"regions": ["europe-central-1"]}, InsufficientCapacity, "no capacity listed"),
    ],
)
def test_refused_requests_change_nothing(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    receiver: list[dict[str, object]],
    changes: dict[str, object],
    error: type[Exception],
    words: str,
) -> None:
    runner = sandbox[0]
    runner.lambda_cloud.set_capacity("cpu_4x_general", ["us-west-1"])
    runner.lambda_cloud.log.clear()
    with pytest.raises(error, match=words):
        lambda_provisioning(params(infra, **changes))
    assert runner.lambda_cloud.log.mutating() == []
    (notice,) = receiver
    assert "refused" in json.dumps(notice) and words in json.dumps(notice)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"environment": "staging"}, "environment"),
        ({"environment": "dev", "instance_type": "huge; rm -rf /"}, "instance_type"),
        ({"environment": "dev", "count": 0}, "count"),
        ({"environment": "dev", "regions": ["mars-north-1"]}, "regions"),
        ({"environment": "prod", "ttl_hours": 4}, "ttl_hours"),
        ({"environment": "dev", "max_usd_per_hour": -1}, "max_usd_per_hour"),
    ],
)
def test_invalid_parameters_are_refused_naming_the_field(
    payload: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        ProvisioningParams.model_validate(payload)


def test_dry_run_previews_and_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    runner = sandbox[0]
    fresh = lambda_provisioning(params(infra, dry_run=True))
    assert fresh.outcome == "planned" and fresh.preview == {"shared:create": 3}
    lambda_provisioning(params(infra))
    before = (infra / "backend" / "Pulumi.dev.yaml").read_bytes()
    runner.lambda_cloud.log.clear()

    report = lambda_provisioning(params(infra, dry_run=True, count=2))

    assert report.preview == {"shared:same": 3, "backend:same": 1, "backend:create": 1}
    assert runner.lambda_cloud.log.mutating() == []
    assert (infra / "backend" / "Pulumi.dev.yaml").read_bytes() == before
    assert len(api_instances(sandbox)) == 1


def test_expired_dev_lease_is_cleaned_up(sandbox: tuple[Sandbox, Endpoints], infra: Path) -> None:
    lambda_provisioning(params(infra, ttl_hours=1))
    assert len(api_instances(sandbox)) == 1
    assert lambda_ttl_cleanup(str(infra)) == []  # not expired yet: nothing happens
    assert len(api_instances(sandbox)) == 1

    write_lease.fn(Lease("dev", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    done = lambda_ttl_cleanup(str(infra))
    assert done and "dev destroyed" in done[0]
    assert api_instances(sandbox) == []


def test_prod_uses_its_gpu_config(sandbox: tuple[Sandbox, Endpoints], infra: Path) -> None:
    report = lambda_provisioning(params(infra, environment="prod"))
    instances = api_instances(sandbox, "prod")
    assert len(instances) == 2 and report.serving_colour == "blue"
    assert {i.instance_type.name for i in instances} <= {"gpu_1x_a10", "gpu_1x_a100_sxm4"}
    assert json.loads(report.model_dump_json())["usd_per_hour"]


def test_capacity_gone_from_the_first_region_falls_back_to_the_next(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """prod prefers us-west-1, then us-east-1: with capacity only in the second, it lands there."""
    runner = sandbox[0]
    runner.lambda_cloud.set_capacity("gpu_1x_a10", ["us-east-1"])
    runner.lambda_cloud.set_capacity("gpu_1x_a100_sxm4", [])
    lambda_provisioning(params(infra, environment="prod"))
    instances = api_instances(sandbox, "prod")
    assert len(instances) == 2
    assert {(i.instance_type.name, i.region.name) for i in instances} == {
        ("gpu_1x_a10", "us-east-1")
    }


def test_a_worker_killed_mid_provision_is_repeated_without_a_double_or_orphan(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """SIGKILL while the new instance boots; the re-run adopts it and converges."""

    runner = sandbox[0]
    request = params(infra)
    runner.lambda_cloud.state.boot_delay_s = 60.0  # the launch lands, then boots "forever"
    worker = flow_in_worker("flows.lambda_provisioning", "lambda_provisioning", request)
    try:
        kill_when(worker, lambda: bool(runner.lambda_cloud.state.instances), "the launch")
    finally:
        runner.lambda_cloud.state.boot_delay_s = 0.0
    assert len(runner.lambda_cloud.state.instances) == 1

    report = lambda_provisioning(request)

    assert report.outcome == "provisioned"
    (instance,) = api_instances(sandbox)
    assert report.instance_ids == [instance.id]
    assert len(runner.lambda_cloud.state.instances) == 1, "the re-run launched a second one"


def test_a_rollback_the_lambda_api_refuses_ends_rollback_failed_and_recover_finishes_it(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    tmp_path: Path,
    receiver: list[dict[str, object]],
) -> None:
    """A 401 from the moment green boots: the run says RollbackFailed, tells people, and
    leaves the rollout open; `recover` terminates green once the key works again."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from orchestra_ops.recover import ledger_for, recover
    from orchestra_ops.settings import load_settings

    runner = sandbox[0]
    lambda_provisioning(params(infra))
    (blue,) = api_instances(sandbox)
    runner.lambda_cloud.state.boot_delay_s = 1.0
    refused: list[int] = []

    def revoke_the_key_once_green_launched() -> None:
        deadline = time.monotonic() + 60
        while len(runner.lambda_cloud.state.instances) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        refused.extend(
            runner.lambda_cloud.plan.add(Fault(path, method=method, status=401, count=None))
            for path, method in (
                (r"/api/v1/instances(/[^/]+)?", "GET"),
                (r"/api/v1/instance-operations/terminate", "POST"),
            )
        )

    revoker = threading.Thread(target=revoke_the_key_once_green_launched, daemon=True)
    revoker.start()
    try:
        with pytest.raises(RollbackFailed, match="orchestra-ops recover") as caught:
            lambda_provisioning(params(infra))
    finally:
        revoker.join(timeout=60)
        for fault in refused:
            runner.lambda_cloud.plan.remove(fault)
        runner.lambda_cloud.state.boot_delay_s = 0.0
    assert any("terminate the green instances" in step for step in caught.value.open_steps)
    assert sorted(colour_of(i) for i in api_instances(sandbox)) == ["blue", "green"]
    with get_client(sync_client=True) as client:
        only = FlowFilter(name=FlowFilterName(any_=["lambda-provisioning"]))
        (run,) = client.read_flow_runs(flow_filter=only, limit=1, sort="START_TIME_DESC")
        artifact = client.read_artifacts(limit=1, sort="CREATED_DESC")[0]
    assert run.state is not None and run.state.name == "RollbackFailed"
    assert "rollback-failed" in str(artifact.data) and "orchestra-ops recover" in str(artifact.data)
    assert any("orchestra-ops recover" in json.dumps(notice) for notice in receiver)
    state_dir = tmp_path / "state"
    assert [i.step for i in ledger_for(state_dir).open_intents()] == ["rollout"]

    report = recover(load_settings(None), infra, ("dev",), runs=False)

    assert report.clean, report.as_dict()
    assert [i.id for i in api_instances(sandbox)] == [blue.id]
    assert ledger_for(state_dir).open_intents() == []


def _answer_when_paused(answer: dict[str, object]) -> threading.Thread:
    """Resume the first paused flow run with ``answer``, as a person would in the UI."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    def answer_it() -> None:
        paused = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(flow_run_filter=paused)
            if runs:
                resume_flow_run(runs[0].id, run_input=answer)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=answer_it, daemon=True)
    thread.start()
    return thread


def test_prod_waits_for_approval_and_goes_ahead_when_approved(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    answering = _answer_when_paused({"approve": True, "note": "change window CHG-7"})
    report = lambda_provisioning(params(infra, environment="prod", approval_timeout_s=30))
    answering.join(timeout=5)
    assert report.outcome == "provisioned"
    assert len(api_instances(sandbox, "prod")) == 2


def test_prod_without_an_answer_in_time_is_refused_and_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    stack_file = infra / "backend" / "Pulumi.prod.yaml"
    before = stack_file.read_bytes()
    with pytest.raises(ConfigError, match="no approval within 2 s"):
        lambda_provisioning(params(infra, environment="prod", approval_timeout_s=2))
    assert api_instances(sandbox, "prod") == []
    assert stack_file.read_bytes() == before
