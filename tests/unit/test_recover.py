"""`orchestra-ops recover` on the sandbox: open intents reconciled, orphaned instances found.

The Pulumi CLI is not installable here, so the backend stack runs on ProgramUnderMocksEngine
(tests/doubles): the real programs and dynamic providers against the Lambda emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.vercel import VercelClient
from orchestra_ops.cli import app
from orchestra_ops.domain.lambda_cloud import InstanceId, InstanceStatus, LaunchRequest, Tag
from orchestra_ops.domain.vercel import DeploymentId
from orchestra_ops.errors import LambdaNotFound
from orchestra_ops.ledger import Outcome
from orchestra_ops.recover import PROMOTE_ACTION, ledger_for
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.settings import load_settings
from tests.doubles.program_engine import ProgramUnderMocksEngine, copy_projects

DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"
PROJECT = "orchestra-admin"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Endpoints]]:
    runner = Sandbox(tmp_path / "sandbox")
    with runner as endpoints:
        yield runner, endpoints


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    """A copy of the shared and backend projects: the engine writes stack config next to them."""
    return copy_projects(tmp_path / "pulumi")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(autouse=True)
def environment(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch, state_dir: Path
) -> None:
    for name, value in sandbox[1].as_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(state_dir))
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)


def run(tmp_path: Path, infra: Path, *args: str) -> tuple[int, str]:
    """Invoke `recover` through typer, with no .env file."""
    argv = ["recover", "--env-file", str(tmp_path / "none.env"), "--infrastructure-dir", str(infra)]
    result = CliRunner().invoke(app, [*argv, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def vercel(endpoints: Endpoints) -> VercelClient:
    return VercelClient(
        endpoints.vercel_api_url,
        SecretStr(endpoints.vercel_token),
        team_id=endpoints.vercel_team_id,
    )


def lambda_api(endpoints: Endpoints) -> LambdaCloudClient:
    return LambdaCloudClient(endpoints.lambda_api_url, SecretStr(endpoints.lambda_api_key))


def crashed_promotion(endpoints: Endpoints, state_dir: Path) -> tuple[str, str, str]:
    """Production on release 1; release 2 promoted under an intent the crash left open."""
    with vercel(endpoints) as api:
        project = api.create_project(PROJECT)
        first, second = (
            api.create_deployment(PROJECT, {"index.html": f"<p>release {n}</p>".encode()})
            for n in (1, 2)
        )
        api.promote(project.id, DeploymentId(first.id))
        key = f"frontend:{project.id}:{second.id}:promote"
        ledger_for(state_dir).intend(
            key,
            "promote",
            {"project_id": project.id, "deployment_id": second.id},
            {"action": PROMOTE_ACTION, "previous_id": first.id},
        )
        api.promote(project.id, DeploymentId(second.id))  # ... and then the worker was killed
    return project.id, first.id, second.id


def production(endpoints: Endpoints) -> httpx.Response:
    return httpx.get(endpoints.vercel_edge_url, headers={"host": f"{PROJECT}.vercel.app"})


def serving(endpoints: Endpoints, project_id: str) -> str | None:
    with vercel(endpoints) as api:
        return api.get_project(project_id).production_deployment_id


# --- open intents -----------------------------------------------------------------------


def test_a_crashed_promotion_of_a_broken_release_is_rolled_back(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Production serves the unverified release and fails: back on the previous deployment."""
    runner, endpoints = sandbox
    project_id, first, second = crashed_promotion(endpoints, state_dir)
    runner.vercel.set_deployment_health(second, "fail")
    assert production(endpoints).status_code == 500

    code, output = run(tmp_path, infra, "--environment", "dev")

    assert code == 0, output
    assert serving(endpoints, project_id) == first
    assert production(endpoints).text == "<p>release 1</p>"
    assert f"compensated (production rolled back to {first})" in output
    assert ledger_for(state_dir).open_intents() == []
    assert ledger_for(state_dir).records()[-1]["kind"] == Outcome.COMPENSATED.value
    assert "nothing left open" in output


def test_a_crashed_promotion_of_a_healthy_release_is_adopted(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Production is healthy on the new release: it stays, no rollback call is made."""
    runner, endpoints = sandbox
    project_id, _, second = crashed_promotion(endpoints, state_dir)
    runner.vercel.log.clear()

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")

    assert code == 0, output
    report = json.loads(output)
    assert report["clean"] is True
    assert [(r["state"], r["detail"]) for r in report["intents"]] == [
        ("adopted", f"{second} is healthy in production: kept")
    ]
    assert serving(endpoints, project_id) == second
    assert not [e for e in runner.vercel.log.mutating() if "/rollback/" in e.path]
    assert ledger_for(state_dir).open_intents() == []


def test_dry_run_says_what_it_would_do_and_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """A dry run leaves production and the ledger as they were, and exits 1 (still open)."""
    runner, endpoints = sandbox
    project_id, first, second = crashed_promotion(endpoints, state_dir)
    runner.vercel.set_deployment_health(second, "fail")
    records = ledger_for(state_dir).records()

    code, output = run(tmp_path, infra, "--environment", "dev", "--dry-run")

    assert code == 1, output
    assert "dry run: nothing was changed" in output
    assert f"would be compensated (production rolled back to {first})" in output
    assert serving(endpoints, project_id) == second
    assert ledger_for(state_dir).records() == records


def test_one_failing_compensator_does_not_stop_the_others(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """An unknown action and a vanished project stay open; the good intent is still closed."""
    runner, endpoints = sandbox
    ledger = ledger_for(state_dir)
    ledger.intend("first-unknown", "s", {}, {"action": "no-such-undo"})
    ledger.intend(
        "second-gone",
        "promote",
        {"project_id": "prj_gone", "deployment_id": "dpl_x"},
        {"action": PROMOTE_ACTION, "previous_id": "dpl_y"},
    )
    project_id, first, second = crashed_promotion(endpoints, state_dir)
    runner.vercel.set_deployment_health(second, "fail")

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")

    assert code == 1, output
    states = {r["key"]: (r["state"], r["detail"]) for r in json.loads(output)["intents"]}
    assert states["first-unknown"] == ("open", "no compensator for action 'no-such-undo'")
    assert states["second-gone"][0] == "open"
    assert "VercelNotFound" in states["second-gone"][1]
    assert serving(endpoints, project_id) == first
    assert sorted(i.key for i in ledger.open_intents()) == ["first-unknown", "second-gone"]


def test_a_corrupt_ledger_is_a_configuration_error(
    infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """A record torn in the middle of the ledger: exit 2 naming the file."""
    state_dir.mkdir()
    (state_dir / "ledger.jsonl").write_text('{"kind": "intent"\n{"kind": "done", "key": "k"}\n')
    code, output = run(tmp_path, infra, "--environment", "dev")
    assert code == 2
    assert "ledger.jsonl:1: corrupt ledger record" in output


# --- orphaned instances -----------------------------------------------------------------


def bring_up_dev_backend(state_dir: Path, infra: Path) -> list[str]:
    """The shared and backend dev stacks, up through the engine double; the stack's ids."""
    engine = ProgramUnderMocksEngine(load_settings(None), state_dir)
    engine.up(engine.select_or_create(infra / "shared", "dev"))
    outputs = engine.up(engine.select_or_create(infra / "backend", "dev"))
    return [str(i["id"]) for group in outputs["colours"].value.values() for i in group]


def launch(endpoints: Endpoints, name: str, **tags: str) -> str:
    with lambda_api(endpoints) as api:
        if "orchestra-dev" not in {k.name for k in api.list_ssh_keys()}:
            api.generate_ssh_key("orchestra-dev")
        (instance_id,) = api.launch(
            LaunchRequest(
                region_name="us-west-1",
                instance_type_name="cpu_4x_general",
                ssh_key_names=("orchestra-dev",),
                name=name,
                tags=tuple(Tag(k, v) for k, v in tags.items()),
            )
        )
    return str(instance_id)


def status(endpoints: Endpoints, instance_id: str) -> InstanceStatus | None:
    """The instance's status; None once the API no longer knows it (terminated)."""
    with lambda_api(endpoints) as api:
        try:
            return api.get_instance(InstanceId(instance_id)).status
        except LambdaNotFound:
            return None


def orphans(output: str) -> dict[str, Any]:
    return {c["environment"]: c for c in json.loads(output)["orphans"]}


def test_an_orphan_is_listed_then_terminated_and_stack_instances_are_never_touched(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Listing is the default; --terminate-orphans ends exactly the instances no stack lists."""
    endpoints = sandbox[1]
    (listed,) = bring_up_dev_backend(state_dir, infra)
    orphan = launch(endpoints, "stray", environment="dev", role="api", colour="green")
    not_api = launch(endpoints, "worker", environment="dev", role="worker", colour="green")

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")
    assert code == 1, output
    dev = orphans(output)["dev"]
    assert [o["id"] for o in dev["orphans"]] == [orphan]
    assert dev["orphans"][0]["tags"] == {"environment": "dev", "role": "api", "colour": "green"}
    assert dev["terminated"] == []
    assert status(endpoints, orphan) is InstanceStatus.ACTIVE

    code, output = run(tmp_path, infra, "--environment", "dev", "--terminate-orphans", "--dry-run")
    assert code == 1, output
    assert f"orphans in dev: {orphan} (stray); would terminate" in output
    assert status(endpoints, orphan) is InstanceStatus.ACTIVE

    code, output = run(tmp_path, infra, "--environment", "dev", "--terminate-orphans")
    assert code == 0, output
    assert f"orphans in dev: {orphan} (stray); terminated 1" in output
    assert status(endpoints, orphan) in (
        InstanceStatus.TERMINATING,
        InstanceStatus.TERMINATED,
        None,
    )
    assert status(endpoints, listed) is InstanceStatus.ACTIVE
    assert status(endpoints, not_api) is InstanceStatus.ACTIVE

    code, output = run(tmp_path, infra, "--environment", "dev")
    assert code == 0, output
    assert "orphans in dev: none" in output


def test_each_environment_is_judged_by_its_own_stack(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """By default both environments are checked; a prod-tagged instance no prod stack lists."""
    endpoints = sandbox[1]
    bring_up_dev_backend(state_dir, infra)
    stray = launch(endpoints, "prod-stray", environment="prod", role="api", colour="blue")

    code, output = run(tmp_path, infra, "--json")

    assert code == 1, output
    found = orphans(output)
    assert found["dev"]["orphans"] == []
    assert [o["id"] for o in found["prod"]["orphans"]] == [stray]


def test_without_a_stack_engine_the_orphan_check_is_skipped(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No pulumi CLI: recovery says so, still reconciles intents, and touches no instance."""
    runner, endpoints = sandbox
    monkeypatch.delenv("ORCHESTRA_STACK_ENGINE")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    orphan = launch(endpoints, "stray", environment="dev", role="api", colour="green")
    project_id, first, second = crashed_promotion(endpoints, state_dir)
    runner.vercel.set_deployment_health(second, "fail")

    code, output = run(tmp_path, infra, "--terminate-orphans")

    assert code == 0, output
    skipped = "orphans in dev, prod: orphan check skipped: pulumi (the Pulumi CLI) is not installed"
    assert skipped in output
    assert serving(endpoints, project_id) == first
    assert status(endpoints, orphan) is InstanceStatus.ACTIVE
    assert endpoints.lambda_api_key not in output and endpoints.vercel_token not in output
