"""Recovery of a killed provisioning run's rollout: where it restores, and where it never writes.

A deployment run works in its own git clone, which the worker deletes after the run; a
ledger written before runs recorded absolute paths holds a relative ``backend_dir``.
Recovery, run from an operator's checkout, must restore the stack state all the same,
and never resolve the recorded directory against its own working directory nor write
into the checkout (issue #17). Over an engine stand-in that writes a stack file when it
selects a stack, as the Pulumi CLI does when it creates one (fast).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from orchestra_ops import provisioning_rollback as undo
from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.adapters.pulumi.checkpoint import read_state
from orchestra_ops.domain.pending_ops import StackState
from orchestra_ops.errors import ConfigError
from orchestra_ops.ledger import Closure, Intent
from orchestra_ops.ports.stack_engine import (
    Checkpoint,
    OnEvent,
    Settlement,
    StackOutput,
    StackRef,
)
from orchestra_ops.recover_orphans import check_orphans
from orchestra_ops.recover_pending import settle_pending
from tests.doubles.unused_engine import UnusedEngine

INFRA = Path(__file__).resolve().parents[2] / "infrastructure" / "pulumi"
CHECKPOINT = Checkpoint('{"version": 3, "deployment": {"resources": []}}')
BEFORE = "encryptionsalt: v1:run-salt\nconfig:\n  orchestra-backend:count: '1'\n"


class Engine(UnusedEngine):
    """Records selections and imports; selecting writes the stack file when missing (the
    CLI's create does), and a directory without a project file is a ConfigError."""

    def __init__(self) -> None:
        self.selected: list[Path] = []
        self.imported: list[tuple[Path, str]] = []

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        project = project_dir / "Pulumi.yaml"
        if not project.is_file():
            raise ConfigError(f"{project}: cannot read the project file")
        stack_file = project_dir / f"Pulumi.{stack}.yaml"
        if not stack_file.exists():
            stack_file.write_text("encryptionsalt: v1:new-salt\n")
        self.selected.append(project_dir)
        return StackRef(project_dir, stack)

    def select(self, project_dir: Path, stack: str) -> StackRef:
        return self.select_or_create(project_dir, stack)  # as if it existed

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        assert (ref.project_dir / "Pulumi.yaml").is_file(), "the engine needs the project file"
        self.imported.append((ref.project_dir, checkpoint))

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        return {"instance_ids": StackOutput(["i-1"])}

    def export(self, ref: StackRef) -> Checkpoint:
        return CHECKPOINT

    def state(self, ref: StackRef) -> StackState:
        return read_state(self.export(ref))

    def settle_pending(
        self, ref: StackRef, on_event: OnEvent | None = None, *, dry_run: bool = False
    ) -> Settlement:
        return Settlement(ref.label, dry_run)

    def check_secrets_key(self, ref: StackRef) -> None:
        assert (ref.project_dir / "Pulumi.yaml").is_file(), "the engine needs the project file"


class Api:
    """No instance of the abandoned colour left (terminating is not what is judged here)."""

    def list_instances(self) -> list[Any]:
        return []

    def terminate(self, ids: list[str]) -> list[Any]:
        raise AssertionError("nothing to terminate")


def git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An operator's git checkout holding the projects, clean, and the working directory."""
    root = tmp_path / "checkout"
    for project in ("shared", "backend"):
        shutil.copytree(INFRA / project, root / "infrastructure" / "pulumi" / project)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "projects")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def backups(tmp_path: Path) -> BackupStore:
    store = BackupStore(tmp_path / "backups", SecretStr(Fernet.generate_key().decode()))
    store.keep_checkpoint("lambda:prod:run-1", CHECKPOINT)
    store.keep_files("lambda:prod:run-1", {"Pulumi.prod.yaml": BEFORE})
    return store


def intent(backend_dir: str) -> Intent:
    target = {"environment": "prod", "backend_dir": backend_dir, "colour": "green"}
    target |= {"serving_ids": [], "owner": "ours"}
    action = {"action": undo.ROLLOUT_ACTION, "backup": "lambda:prod:run-1"}
    return Intent("k", undo.ROLLOUT_STEP, target, action, 0.0, "lambda:prod:run-1")


def untouched(checkout: Path) -> None:
    assert git(checkout, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        (
            "infrastructure/pulumi/backend",
            "recorded relative to that run's own working directory, not known here",
        ),
        ("/gone/run-clone/infrastructure/pulumi/backend", "which is gone"),
    ],
    ids=["relative (a ledger from before the fix)", "a deployment run's deleted clone"],
)
def test_a_run_directory_that_is_not_there_restores_the_state_and_writes_nothing(
    checkout: Path, backups: BackupStore, recorded: str, why: str
) -> None:
    engine = Engine()
    projects = Path("infrastructure/pulumi/backend")  # recover's default, of the cwd

    decision = undo.undo_rollout(Api(), lambda: engine, backups, "ours", intent(recorded), projects)

    ((project, checkpoint),) = engine.imported
    assert checkpoint == CHECKPOINT
    assert project.name == "backend" and checkout not in project.parents  # a scratch copy
    assert not project.exists()  # ... thrown away
    untouched(checkout)
    assert not Path("/gone").exists()
    assert decision.outcome is Closure.COMPENSATED
    assert decision.detail == (
        "0 green instance(s) of prod terminated; stack state restored from before the "
        f"rollout; Pulumi.prod.yaml was in the run's directory {recorded}, {why}: nothing "
        "to restore there"
    )
    with pytest.raises(ConfigError):  # the backup is discarded once the state is back
        backups.files("lambda:prod:run-1")


def test_without_a_project_to_copy_the_intent_stays_open_and_nothing_is_written(
    checkout: Path, backups: BackupStore, tmp_path: Path
) -> None:
    engine = Engine()
    with pytest.raises(ConfigError, match="no project file to work from"):
        undo.undo_rollout(
            Api(), lambda: engine, backups, "ours", intent("x/backend"), tmp_path / "none"
        )
    with pytest.raises(ConfigError, match="no project to work from was given"):
        undo.undo_rollout(Api(), lambda: engine, backups, "ours", intent("x/backend"))
    assert engine.imported == [] and backups.files("lambda:prod:run-1")  # kept for a retry
    untouched(checkout)


def test_a_run_directory_still_there_gets_its_state_and_stack_file_back(
    checkout: Path, backups: BackupStore, tmp_path: Path
) -> None:
    run_dir = tmp_path / "worker" / "infrastructure" / "pulumi" / "backend"
    shutil.copytree(INFRA / "backend", run_dir)
    (run_dir / "Pulumi.prod.yaml").write_text("config: {changed: by the rollout}\n")
    engine = Engine()

    decision = undo.undo_rollout(
        Api(), lambda: engine, backups, "ours", intent(str(run_dir)), Path("unused")
    )

    assert engine.imported == [(run_dir, CHECKPOINT)]
    assert (run_dir / "Pulumi.prod.yaml").read_text() == BEFORE
    assert decision.detail == (
        "0 green instance(s) of prod terminated; stack state and Pulumi.prod.yaml restored "
        "from before the rollout"
    )
    untouched(checkout)


def clients(state_dir: Path, engine: Engine) -> Any:
    runtime = SimpleNamespace(state_dir=state_dir)
    return SimpleNamespace(
        stack_engine=lambda: engine,
        settings=SimpleNamespace(runtime=runtime),
        lambda_cloud=Api,
        state_owner=lambda: "ours",
        known_state_owner=lambda: "ours",
    )


def test_the_orphan_check_and_pending_settlement_leave_the_checkout_clean(
    checkout: Path, tmp_path: Path
) -> None:
    """Selecting a stack may write its stack file: in a scratch copy."""
    engine = Engine()
    infra = Path("infrastructure/pulumi")

    pending = settle_pending(clients(tmp_path, engine), infra, ["dev", "prod"], dry_run=False)
    orphans = check_orphans(
        clients(tmp_path, engine),
        infra / "backend",
        ["dev", "prod"],
        terminate=False,
        dry_run=False,
    )

    assert [c.status for c in pending] == ["checked"] * 4
    assert [(c.status, c.orphans) for c in orphans] == [("checked", [])] * 2
    assert len(engine.selected) == 6 and all(checkout not in p.parents for p in engine.selected)
    untouched(checkout)


def test_a_fault_found_in_the_scratch_copy_names_the_users_own_project(tmp_path: Path) -> None:
    """recover works on a throwaway copy of the project; what it finds wrong there is said
    of the user's directory, not of a temporary one that is gone when they read it."""
    from orchestra_ops.adapters.pulumi.programs import our_program

    project = tmp_path / "backend"
    project.mkdir()
    shutil.copy(INFRA / "backend" / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "__main__.py").write_text("import pulumi\npulumi.export('legacy', 1)\n")
    with pytest.raises(ConfigError, match="another program lives here") as raised:
        with undo.scratch_project(project) as copy:
            our_program(copy)
    assert str(project / "Pulumi.yaml") in str(raised.value)
    assert str(project / "__main__.py") in str(raised.value)
    assert "orchestra-project-" not in str(raised.value)
    assert raised.value.source == str(project / "Pulumi.yaml")
