"""`orchestra-ops recover`'s pending-operation part, over an engine stand-in (fast)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestra_cli.recover import _recovery_summary
from orchestra_ops.adapters.pulumi.checkpoint import read_state
from orchestra_ops.adapters.target_lock import describe_holder, hold, lock_path
from orchestra_ops.domain.pending_ops import StackState
from orchestra_ops.errors import StackConflict, StackError, ToolMissing
from orchestra_ops.ports.stack_engine import (
    OnEvent,
    Settlement,
    StackRef,
)
from orchestra_ops.recover import EXIT_UNCHECKED, RecoveryReport
from orchestra_ops.recover_orphans import check_orphans, state_instance_ids
from orchestra_ops.recover_pending import PendingCheck, settle_pending
from tests.doubles.unused_engine import UnusedEngine


class Engine(UnusedEngine):
    """Records which stacks were settled; ``pending`` maps a stack label to its lines."""

    def __init__(
        self, pending: Mapping[str, list[str]], fail: str = "", wrong_key: str = ""
    ) -> None:
        self.pending, self.fail, self.settled = pending, fail, list[str]()
        self.wrong_key = wrong_key

    def check_secrets_key(self, ref: StackRef) -> None:
        if ref.label == self.wrong_key:
            raise StackError(f"{ref.label}: the passphrase does not open the stack's secrets")

    def select(self, project_dir: Path, stack: str) -> StackRef:
        return StackRef(project_dir, stack)

    def settle_pending(
        self, ref: StackRef, on_event: OnEvent | None = None, *, dry_run: bool = False
    ) -> Settlement:
        self.settled.append(ref.label)
        if ref.label == self.fail:
            raise StackConflict(f"{ref.label}: an update that is still running holds the lock")
        lines = self.pending.get(ref.label, [])
        done = [f"would {line}" for line in lines] if dry_run else lines
        return Settlement(ref.label, dry_run, decided=list(lines), done=done)


def clients(tmp_path: Path, engine: Any) -> Any:
    def stack_engine() -> Any:
        if isinstance(engine, Exception):
            raise engine
        return engine

    runtime = SimpleNamespace(state_dir=tmp_path)
    return SimpleNamespace(stack_engine=stack_engine, settings=SimpleNamespace(runtime=runtime))


def projects(tmp_path: Path) -> Path:
    """The shared and backend project files (each stack is selected in a copy of them)."""
    for project in ("shared", "backend"):
        (tmp_path / "pulumi" / project).mkdir(parents=True, exist_ok=True)
        (tmp_path / "pulumi" / project / "Pulumi.yaml").write_text(f"name: {project}\n")
    return tmp_path / "pulumi"


def test_shared_then_backend_of_each_environment_and_what_was_done(tmp_path: Path) -> None:
    engine = Engine({"backend/dev": ["adopt instance i-1 of api-blue-0: it exists"]})
    checks = settle_pending(
        clients(tmp_path, engine), projects(tmp_path), ["dev", "prod"], dry_run=False
    )
    assert engine.settled == ["shared/dev", "backend/dev", "shared/prod", "backend/prod"]
    assert [(c.stack, c.status, c.lines) for c in checks][:2] == [
        ("shared/dev", "checked", []),
        ("backend/dev", "checked", ["adopt instance i-1 of api-blue-0: it exists"]),
    ]
    assert all(c.clean for c in checks)


def test_a_dry_run_that_finds_pending_operations_is_not_clean(tmp_path: Path) -> None:
    engine = Engine({"shared/dev": ["terminate ssh key k-1 of ssh-key: ..."]})
    (shared, backend) = settle_pending(
        clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=True
    )
    assert shared.lines == ["would terminate ssh key k-1 of ssh-key: ..."]
    assert not shared.clean and backend.clean
    assert not RecoveryReport(True, [], [], pending=[shared, backend]).clean


def test_an_environment_a_run_holds_is_not_touched(tmp_path: Path) -> None:
    engine = Engine({"backend/dev": ["clear operation of x: ..."]})
    target = lock_path(tmp_path, "stack", "backend-dev")
    with hold(target, describe_holder("a provisioning run"), wait_s=0):
        checks = settle_pending(
            clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=False
        )
    assert engine.settled == []
    assert [(c.stack, c.status) for c in checks] == [
        ("shared/dev", "skipped"),
        ("backend/dev", "skipped"),
    ]
    assert all("in progress" in c.note for c in checks)


def test_a_stack_that_cannot_be_settled_is_unchecked_but_not_the_others(
    tmp_path: Path,
) -> None:
    engine = Engine({}, fail="shared/dev")
    shared, backend = settle_pending(
        clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=False
    )
    assert shared.status == "unchecked" and "StackConflict" in shared.note and not shared.clean
    assert backend.status == "checked"
    report = RecoveryReport(False, [], [], pending=[shared, backend])
    assert report.left_open() == [] and report.exit_code == EXIT_UNCHECKED
    assert report.unchecked() == [("pending operations", "shared/dev", shared.note)]


def test_a_stack_the_passphrase_does_not_open_is_unchecked_though_nothing_is_pending(
    tmp_path: Path,
) -> None:
    """Nothing pending would read as clean, yet every later update of it would fail."""
    engine = Engine({}, wrong_key="backend/dev")
    shared, backend = settle_pending(
        clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=True
    )
    assert shared.status == "checked" and shared.clean
    assert backend.status == "unchecked" and "does not open" in backend.note
    assert engine.settled == ["shared/dev"]  # not settled with a key that cannot open it
    assert RecoveryReport(True, [], [], pending=[shared, backend]).exit_code == EXIT_UNCHECKED


@pytest.mark.parametrize(
    ("engine", "status", "note", "clean"),
    [
        (
            ToolMissing("pulumi (the Pulumi CLI)", disables="x", install_hint="y"),
            "unchecked",  # could not look: never "nothing pending"
            "pulumi",
            False,
        ),
        (object(), "skipped", "leaves no pending operations", True),
    ],
)
def test_without_an_engine_that_settles_nothing_is_claimed(
    tmp_path: Path, engine: Any, status: str, note: str, clean: bool
) -> None:
    checks = settle_pending(clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=False)
    assert [(c.status, note in c.note) for c in checks] == [(status, True)] * 2
    assert all(c.clean is clean for c in checks)


class Exported(UnusedEngine):
    """An engine whose stack state is the checkpoint it was given."""

    def __init__(self, checkpoint: str) -> None:
        self.checkpoint = checkpoint

    def state(self, ref: StackRef) -> StackState:
        return read_state(self.checkpoint)


def test_instances_held_in_the_state_count_whatever_the_outputs_say(tmp_path: Path) -> None:
    engine = Exported(
        '{"version": 3, "deployment": {"resources": ['
        '{"urn": "u1", "id": "i-1", "type": "pulumi-python:dynamic/lambda:Instance"},'
        '{"urn": "u2", "id": "k-1", "type": "pulumi-python:dynamic/lambda:SshKey"}]}}'
    )
    assert state_instance_ids(engine, StackRef(tmp_path, "dev")) == {"i-1"}


def test_a_state_that_is_not_a_checkpoint_is_an_error_not_an_empty_stack(tmp_path: Path) -> None:
    """Orphans judged against an unreadable state would name the stack's own instances."""
    engine = Exported('{"deployment": {"resources": {"u1": {"id": "i-1"}}}}')
    with pytest.raises(ValueError, match="not lists"):
        state_instance_ids(engine, StackRef(tmp_path, "dev"))


def test_a_dry_run_neither_makes_nor_writes_lock_files(tmp_path: Path) -> None:
    """No lock file is made where none was; one there keeps its last holder's name; a live
    holder still keeps the dry run out."""
    engine = Engine({})
    settle_pending(clients(tmp_path, engine), projects(tmp_path), ["dev", "prod"], dry_run=True)
    assert not (tmp_path / "locks").exists()

    dead = lock_path(tmp_path, "stack", "backend-dev")
    dead.parent.mkdir()
    dead.write_text("pid 999999 on elsewhere, run dead-run-1")
    settle_pending(clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=True)
    assert dead.read_text() == "pid 999999 on elsewhere, run dead-run-1"

    with hold(dead, describe_holder("live-run"), wait_s=0):
        (shared, _) = settle_pending(
            clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=True
        )
    assert shared.status == "skipped" and "in progress" in shared.note


def test_orphans_are_not_judged_where_pending_operations_are_unsettled(tmp_path: Path) -> None:
    """The instance a killed create launched is not in the stack until its pending operation
    is settled: judged before, it would be an orphan (and terminated with the flag)."""
    engine = Engine({})
    unsettled = {
        "dev": PendingCheck("backend/dev", "unchecked", note="incorrect passphrase"),
        "prod": PendingCheck("backend/prod", lines=["would adopt i-1"], left_open=True),
    }
    dev, prod = check_orphans(
        clients(tmp_path, engine),  # no Lambda client: it must not be asked
        projects(tmp_path) / "backend",
        ["dev", "prod"],
        terminate=True,
        dry_run=False,
        unsettled=unsettled,
    )
    assert (dev.status, prod.status) == ("unchecked", "skipped")
    assert not dev.orphans and not prod.terminated
    # Settling could not even look: nothing says a killed update left anything. Why is the
    # pending check's to say: this note only points at it.
    assert dev.note == "the pending operations of backend/dev could not be checked"
    assert "pending operations of a killed update are not settled" in prod.note


class WrongKeyEverywhere(Engine):
    """The passphrase opens no stack; each refusal names its stack, as the engine's do."""

    def check_secrets_key(self, ref: StackRef) -> None:
        raise StackError(f"{ref.label}: the passphrase does not open the stack's secrets")


def test_a_wrong_passphrase_is_said_once_for_every_stack_and_the_orphan_check(
    tmp_path: Path,
) -> None:
    """Met by an outside check: each stack's reason names its stack, and the orphan check
    quoted the backend's, so the last line said the same reason three times."""
    engine = WrongKeyEverywhere({})
    pending = settle_pending(clients(tmp_path, engine), projects(tmp_path), ["dev"], dry_run=True)
    orphans = check_orphans(
        clients(tmp_path, engine),
        projects(tmp_path) / "backend",
        ["dev"],
        terminate=False,
        dry_run=True,
        unsettled={"dev": pending[1]},
    )
    lines = _recovery_summary(RecoveryReport(True, [], orphans, pending=pending), False)
    assert "\n".join(lines).count("does not open") == 1, lines
    assert lines[-1] == (
        "could not check: pending operations in shared/dev, backend/dev (StackError: the "
        "passphrase does not open the stack's secrets); orphans in dev (the pending "
        "operations of backend/dev could not be checked)"
    ), lines
