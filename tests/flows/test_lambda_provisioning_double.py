"""Track 2 flow paths on the engine test double: provider behaviour, placement, kills, recover.

The stacks run on ``ProgramUnderMocksEngine`` (tests/doubles/program_engine.py), a test
double of the Pulumi engine: the real programs and dynamic providers under Pulumi's
mocks, applied to the sandbox's Lambda emulator. It keeps these tests fast; what they
prove lies in the providers and the flow, not in the engine. The engine's own paths
(blue-green, the rollback subflow, dry run, TTL clean-up) run on the Pulumi CLI in
``test_lambda_provisioning.py``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.lambda_provisioning import lambda_provisioning
from orchestra_ops.errors import ConfigError, RollbackFailed
from orchestra_ops.sandbox.faults import Fault
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from tests.flows.provisioning_support import (
    api_instances,
    colour_of,
    copy_projects,
    fresh_sandbox,  # noqa: F401 - a sandbox per test
    params,
    use_sandbox,
    webhook,
)
from tests.killing import flow_in_worker, kill_when

ENGINE_TEST_DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    return copy_projects(tmp_path / "pulumi")


@pytest.fixture(autouse=True)
def environment(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_sandbox(monkeypatch, sandbox[1], tmp_path / "state", ENGINE_TEST_DOUBLE)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    with webhook(monkeypatch) as received:
        yield received


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

    from orchestra_ops.ledger import Ledger
    from orchestra_ops.recover import recover
    from orchestra_ops.settings import load_settings
    from orchestra_ops.wiring import build

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
    assert [i.step for i in Ledger.of(state_dir).open_intents()] == ["rollout"]

    with build(load_settings(None)) as clients:
        report = recover(clients, infra, ("dev",), runs=False)

    assert report.clean, report.as_dict()
    assert [i.id for i in api_instances(sandbox)] == [blue.id]
    assert Ledger.of(state_dir).open_intents() == []


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


def test_a_foreign_program_is_refused_before_any_stack_is_touched(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """Met by an outside check: the shared stack was brought up before the backend project's
    program was found not to be ours."""
    (infra / "backend" / "__main__.py").write_text("import pulumi\npulumi.export('x', 1)\n")
    with pytest.raises(
        ConfigError, match=r"does not run orchestra_ops\.adapters\.pulumi\.programs\.backend"
    ):
        lambda_provisioning(params(infra))
    assert sandbox[0].lambda_cloud.log.mutating() == []  # no key, filesystem or instance


def test_the_stacks_a_killed_dry_run_made_are_removed_by_the_next_dry_run(
    infra: Path, tmp_path: Path
) -> None:
    """A dry run killed mid-preview leaves its journal, a new empty stack and a changed
    stack file (met by an outside check: nothing could find them again). The next dry run
    of the environment removes that stack and restores the file, before its own preview."""
    from orchestra_ops import wiring
    from orchestra_ops.settings import load_settings
    from tasks.provisioning import journal_preview

    stack_file = infra / "shared" / "Pulumi.dev.yaml"
    original = stack_file.read_text()
    journal_preview.fn("dev", str(infra), ["shared"], {"shared": original}, {})
    engine = wiring.for_process(load_settings()).stack_engine()
    engine.select_or_create(infra / "shared", "dev")  # what the killed preview had made
    stack_file.write_text(original + "encryptionsalt: v1:killed\n")
    stacks = tmp_path / "state" / "engine-double"
    assert len(list(stacks.rglob("*.json"))) == 1

    report = lambda_provisioning(params(infra, dry_run=True))

    assert report.outcome == "planned" and report.preview == {"shared:create": 3}
    assert list(stacks.rglob("*.json")) == []  # its own preview's stack is removed too
    assert stack_file.read_text() == original
    ledger = wiring.for_process(load_settings()).ledger()
    assert ledger.open_intents() == []


def test_a_killed_dry_runs_request_never_becomes_the_next_runs(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """Met by an outside check: a dry run of ``count: 3`` killed after writing its config
    into an existing stack's file made the next plain run provision three. The next run
    puts the file back first, then rolls out what it was asked for."""
    from orchestra_ops import wiring
    from orchestra_ops.settings import load_settings
    from tasks.provisioning import journal_preview

    assert lambda_provisioning(params(infra)).outcome == "provisioned"
    stack_file = infra / "backend" / "Pulumi.dev.yaml"
    served = stack_file.read_text()
    texts = {"shared": (infra / "shared" / "Pulumi.dev.yaml").read_text(), "backend": served}
    journal_preview.fn("dev", str(infra), [], texts, {"backend": {"count": "3"}})
    changed = re.sub(r"orchestra-backend:count: .*", "orchestra-backend:count: '3'", served)
    assert changed != served
    stack_file.write_text(changed)  # the request's config, as the killed dry run wrote it

    report = lambda_provisioning(params(infra))

    assert report.outcome == "provisioned"
    assert len(api_instances(sandbox)) == 1
    count = re.compile(r"orchestra-backend:count: .*")
    assert count.findall(stack_file.read_text()) == count.findall(served)  # a new colour, one
    assert wiring.for_process(load_settings()).ledger().open_intents() == []
