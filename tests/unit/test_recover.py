"""`orchestra-ops recover` on the sandbox: open intents reconciled, orphaned instances found.

The Pulumi CLI is not installable here, so the backend stack runs on ProgramUnderMocksEngine
(tests/doubles): the real programs and dynamic providers against the Lambda emulator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from orchestra_cli.app import app
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi.backend import state_owner
from orchestra_ops.adapters.vercel import VercelClient
from orchestra_ops.domain.lambda_cloud import InstanceId, InstanceStatus, LaunchRequest, Tag
from orchestra_ops.domain.pending_ops import OWNER_TAG
from orchestra_ops.domain.vercel import DeploymentId, EnvTarget, EnvType, EnvVar
from orchestra_ops.errors import LambdaNotFound
from orchestra_ops.frontend_rollback import ENV_ACTION, PROMOTE_ACTION, gate_record, saga_id
from orchestra_ops.ledger import Ledger
from orchestra_ops.saga import Saga
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tasks import frontend as t
from tests import loopback
from tests.doubles.program_engine import ProgramUnderMocksEngine, copy_projects
from tests.pulumi_cli import needs_pulumi_cli

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
    argv = [
        "recover",
        "--env-file",
        "/dev/null",
        "--infrastructure-dir",
        str(infra),
        "--no-runs",  # stuck runs are asked of a real server in tests/e2e
    ]
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


@dataclass
class Crashed:
    """A migration run killed while its production gate probed release 2."""

    project_id: str
    first: str
    second: str
    app_dir: Path


def crashed_migration(endpoints: Endpoints, app_dir: Path) -> Crashed:
    """Release 1 serves; a run journals config, env and promotion of release 2, then dies.

    The steps go through the migration's own tasks (their functions, without Prefect),
    so the ledger and backups are exactly what a real run leaves.
    """
    app_dir.mkdir(parents=True)
    (app_dir / "vercel.json").write_text('{"old": true}\n')
    with vercel(endpoints) as api:
        project = api.create_project(PROJECT)
        first, second = (
            api.create_deployment(PROJECT, {"index.html": f"<p>release {n}</p>".encode()})
            for n in (1, 2)
        )
        api.promote(project.id, DeploymentId(first.id))
        api.upsert_env(project.id, [plain("VITE_APP_TITLE", "Admin 1")])
    saga = saga_id(project.id, "run-1")
    t.write_config.fn(saga, str(app_dir.parent), app_dir.name, {"vercel.json": '{"new": 1}\n'})
    clients = build(load_settings(None))
    clients.backups().keep_env(
        saga, [v for v in clients.vercel().list_env(project.id, decrypt=True)]
    )
    Saga(saga, clients.ledger()).intend(
        "env",
        {"project_id": project.id, "keys": ["VITE_APP_TITLE", "VITE_NEW"]},
        {"action": ENV_ACTION, "backup": saga},
    )
    clients.vercel().upsert_env(
        project.id, [plain("VITE_APP_TITLE", "Admin 2"), plain("VITE_NEW", "x")]
    )
    release_2 = hashlib.sha256(b"<p>release 2</p>").hexdigest()
    gate = gate_record(f"https://{PROJECT}.vercel.app", release_2, (), None)
    t.promote.fn(saga, project.id, second.id, first.id, gate)
    clients.close()
    return Crashed(project.id, first.id, second.id, app_dir)  # ... and the worker was killed


def plain(key: str, value: str) -> EnvVar:
    return EnvVar(key, SecretStr(value), EnvType.PLAIN, (EnvTarget.PRODUCTION,))


def env_of(endpoints: Endpoints, project_id: str) -> dict[str, str | None]:
    with vercel(endpoints) as api:
        return {
            v.key: v.value.get_secret_value() if v.value else None
            for v in api.list_env(project_id, decrypt=True)
        }


def production(endpoints: Endpoints) -> httpx.Response:
    return loopback.get(endpoints.vercel_edge_url, headers={"host": f"{PROJECT}.vercel.app"})


def serving(endpoints: Endpoints, project_id: str) -> str | None:
    with vercel(endpoints) as api:
        return api.get_project(project_id).production_deployment_id


# --- open intents -----------------------------------------------------------------------


def test_a_crashed_run_of_a_broken_release_is_undone_whole(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Production, the env and the config files all go back to what they were."""
    runner, endpoints = sandbox
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "fail")
    assert production(endpoints).status_code == 500

    code, output = run(tmp_path, infra, "--environment", "dev")

    assert code == 0, output
    assert serving(endpoints, crashed.project_id) == crashed.first
    assert production(endpoints).text == "<p>release 1</p>"
    assert env_of(endpoints, crashed.project_id) == {"VITE_APP_TITLE": "Admin 1"}
    assert (crashed.app_dir / "vercel.json").read_text() == '{"old": true}\n'
    assert f"compensated (production rolled back to {crashed.first})" in output
    assert Ledger.of(state_dir).open_intents() == []
    assert list((state_dir / "backups").iterdir()) == []  # settled: backups dropped
    assert "nothing left open" in output


def test_a_crashed_run_whose_release_passes_its_gate_is_kept_whole(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """Release 2 serves its own bytes: it stays, with its env and config; no rollback call."""
    runner, endpoints = sandbox
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.log.clear()

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")

    assert code == 0, output
    report = json.loads(output)
    assert report["clean"] is True
    assert {r["state"] for r in report["intents"]} == {"adopted"}
    assert serving(endpoints, crashed.project_id) == crashed.second
    assert env_of(endpoints, crashed.project_id) == {"VITE_APP_TITLE": "Admin 2", "VITE_NEW": "x"}
    assert (crashed.app_dir / "vercel.json").read_text() == '{"new": 1}\n'
    assert runner.vercel.log.mutating() == []


def test_a_maintenance_page_in_production_is_not_mistaken_for_the_release(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, tmp_path: Path
) -> None:
    """200 with other bytes than release 2: the gate the run recorded refuses it."""
    runner, endpoints = sandbox
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "maintenance")
    assert production(endpoints).status_code == 200

    code, output = run(tmp_path, infra, "--environment", "dev")

    assert code == 0, output
    assert serving(endpoints, crashed.project_id) == crashed.first


def test_dry_run_says_what_it_would_do_and_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """A dry run leaves production and the ledger as they were, and exits 1 (still open)."""
    runner, endpoints = sandbox
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "fail")
    records = Ledger.of(state_dir).records()

    code, output = run(tmp_path, infra, "--environment", "dev", "--dry-run")

    assert code == 1, output
    assert "dry run: nothing was changed" in output
    assert output.count("would be compensated") == 3
    assert serving(endpoints, crashed.project_id) == crashed.second
    assert Ledger.of(state_dir).records() == records


def test_a_dry_run_on_a_fresh_state_directory_writes_nothing_there(
    infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """No stack, lock file or ledger appears, and a stack not made yet lists no instance."""
    state_dir.mkdir()

    code, output = run(tmp_path, infra, "--dry-run")

    assert code == 0, output
    assert "orphans in dev, prod: none" in output
    assert sorted(state_dir.rglob("*")) == []


@needs_pulumi_cli
def test_a_lost_passphrase_leaves_the_stack_checks_undone_and_the_rest_checked(
    infra: Path, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Met by an outside check: the engine's ConfigError stopped the whole command (exit 2)."""
    stacks = state_dir / "pulumi" / "state" / ".pulumi" / "stacks" / "orchestra-backend"
    stacks.mkdir(parents=True)
    (stacks / "dev.json").write_text("{}")
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", "pulumi")

    code, output = run(tmp_path, infra, "--environment", "dev")

    assert code == 3, output
    assert "open intents found: 0" in output
    assert "pending operations in backend/dev: could not check" in output
    assert "pulumi/passphrase is missing" in output.splitlines()[-1]
    assert not (state_dir / "pulumi" / "passphrase").exists()


def test_a_saga_whose_cloud_has_no_credential_here_stays_open_and_the_rest_is_checked(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without VERCEL_TOKEN the frontend saga is listed open with why (exit 1); the other
    checks still run, and the ledger is left as it was."""
    _, endpoints = sandbox
    crashed_migration(endpoints, tmp_path / "repo" / "admin")
    records = Ledger.of(state_dir).records()
    monkeypatch.delenv("VERCEL_TOKEN")

    code, output = run(tmp_path, infra, "--environment", "dev")

    assert code == 1, output
    assert output.count("cannot be settled with these settings: VERCEL_TOKEN is not set") == 3
    assert "orphans" in output.lower()
    assert Ledger.of(state_dir).records() == records


def test_one_failing_compensator_does_not_stop_the_others(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, state_dir: Path, tmp_path: Path
) -> None:
    """An unknown kind of run and a vanished project stay open; the good saga is undone."""
    runner, endpoints = sandbox
    ledger = Ledger.of(state_dir)
    ledger.intend("first-unknown", "s", {}, {"action": "no-such-undo"})
    ledger.intend(
        "frontend:prj_gone:run-0:promote",
        "promote",
        {"project_id": "prj_gone", "deployment_id": "dpl_x"},
        {"action": PROMOTE_ACTION, "previous_id": "dpl_y"},
    )
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "fail")

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")

    assert code == 1, output
    states = {r["key"]: (r["state"], r["detail"]) for r in json.loads(output)["intents"]}
    assert states["first-unknown"] == ("open", "no compensator for this kind of run")
    gone = states["frontend:prj_gone:run-0:promote"]
    assert gone[0] == "open" and "VercelNotFound" in gone[1]
    assert serving(endpoints, crashed.project_id) == crashed.first
    assert sorted(i.key for i in ledger.open_intents()) == [
        "first-unknown",
        "frontend:prj_gone:run-0:promote",
    ]


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


def launch(endpoints: Endpoints, name: str, *, owner: str | None = "ours", **tags: str) -> str:
    """Launch an instance by hand; ``owner``: "ours" (this state's), None (untagged), or an id."""
    if owner == "ours":
        settings = load_settings()
        owner = state_owner(settings.pulumi, settings.runtime.state_dir)
    if owner is not None:
        tags = {**tags, OWNER_TAG: owner}
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
    theirs = launch(endpoints, "theirs", owner="0123456789abcdef", environment="dev", role="api")
    untagged = launch(endpoints, "old", owner=None, environment="dev", role="api")

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")
    assert code == 1, output
    dev = orphans(output)["dev"]
    assert [o["id"] for o in dev["orphans"]] == [orphan]  # not another state's, nor untagged
    assert untagged in dev["note"] and theirs not in dev["note"]
    assert dev["orphans"][0]["tags"]["colour"] == "green"
    assert dev["terminated"] == []
    assert status(endpoints, orphan) is InstanceStatus.ACTIVE

    code, output = run(tmp_path, infra, "--environment", "dev", "--dry-run")  # no promise
    assert f"{orphan} (stray); listed only (--terminate-orphans terminates them)" in output

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
    for untouched in (not_api, theirs, untagged):
        assert status(endpoints, untouched) is InstanceStatus.ACTIVE

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
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    orphan = launch(endpoints, "stray", environment="dev", role="api", colour="green")
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "fail")

    code, output = run(tmp_path, infra, "--terminate-orphans")

    assert code == 3, output  # could not check: neither clean (0) nor found open (1)
    missing = "pulumi (the Pulumi CLI) is not installed"
    assert "orphans in dev, prod: could not check: see the last line" in output
    assert output.count(missing) == 1, output  # the long hint is said once, last
    last = output.strip().splitlines()[-2:]
    assert last[0] == "nothing left open in what was checked"
    assert last[1].startswith(
        "could not check: pending operations in shared/dev, backend/dev, shared/prod, "
        f"backend/prod and orphans in dev, prod ({missing}"
    ), last
    assert serving(endpoints, crashed.project_id) == crashed.first
    assert status(endpoints, orphan) is InstanceStatus.ACTIVE
    assert endpoints.lambda_api_key not in output and endpoints.vercel_token not in output


def test_an_unimportable_stack_engine_is_a_configuration_error(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ORCHESTRA_STACK_ENGINE names no module: exit 2 with the one-line error, not 3."""
    runner, endpoints = sandbox
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", "nosuch.mod:factory")
    crashed = crashed_migration(endpoints, tmp_path / "repo" / "admin")
    runner.vercel.set_deployment_health(crashed.second, "fail")

    code, output = run(tmp_path, infra)

    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "configuration error: ORCHESTRA_STACK_ENGINE='nosuch.mod:factory' cannot be imported"
    ), output
    assert serving(endpoints, crashed.project_id) == crashed.second  # nothing was changed


def test_a_dead_lambda_api_is_could_not_check_never_orphans(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens on the Lambda port: exit 3, the API named, no orphan claimed."""
    bring_up_dev_backend(state_dir, infra)
    monkeypatch.setenv("LAMBDA_LABS_API_URL", "http://127.0.0.1:1")

    code, output = run(tmp_path, infra, "--environment", "dev", "--terminate-orphans")

    assert code == 3, output
    assert "orphans in dev: could not check: see the last line" in output, output
    assert output.count("LambdaUnavailable") == 1, output  # said once, on the last line
    assert output.splitlines()[-1].startswith("could not check: orphans in dev (LambdaUnavail")
    assert "listed only" not in output and "terminated" not in output
    assert "left open:" not in output

    code, output = run(tmp_path, infra, "--environment", "dev", "--json")
    report = json.loads(output)
    assert code == 3 and report["exit_code"] == 3 and report["left_open"] == []
    assert report["orphans"][0]["orphans"] == []
    assert ("orphans", "dev") in {(u["what"], u["where"]) for u in report["unchecked"]}


def test_exit_codes_are_in_the_help() -> None:
    result = CliRunner().invoke(app, ["recover", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    for said in ("0 everything was checked", "1 something is left open", "3 nothing open"):
        assert said in text, text
