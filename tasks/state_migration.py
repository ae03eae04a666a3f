"""Phase 4C: carry each renamed stack's state over to its new project, or put it back.

Per stack found under its old name: export a checkpoint, rename the stack into the new
project, then preview the moved program expecting no changes. Any failure after the
export renames the stack back, imports the checkpoint and fails naming the stack. A
stack already under its new name is left alone (a re-run, or a person ran the commands);
a stack with no state in the backend has nothing to move. Each stack whose state carries
the new name is journaled at once, so a file rollback refuses while the state would no
longer match the old layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from prefect import get_run_logger

from orchestra_ops.domain.reorg.model import StackRename
from orchestra_ops.errors import ReorgError, ToolMissing
from orchestra_ops.ports.repository import ReorgRepository
from orchestra_ops.ports.stack_state import StateMigrator
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.policy import local_task
from tasks.run_names import named

NO_COMPLETED_RUN = "no completed reorganisation run: apply (or resume) before migrating state"


class StackStatus(StrEnum):
    """What the migration found or did for one stack."""

    MIGRATED = "migrated"
    ALREADY_MIGRATED = "already under the new name"
    NO_STATE = "no state in the backend"


@dataclass(frozen=True)
class StackMigration:
    """One stack's result; ``checkpoint`` is the export taken before its rename."""

    rename: StackRename
    status: StackStatus
    checkpoint: str | None = None

    @property
    def line(self) -> str:
        """``org/old/dev -> org/new/dev: migrated``, for reports."""
        old, new = _label(self.rename, old=True), _label(self.rename, old=False)
        return f"{old} -> {new}: {self.status}"


OnMoved = Callable[[StackMigration], None]


def migrate_stacks(
    migrator: StateMigrator,
    renames: Iterable[StackRename],
    *,
    repo: Path,
    checkpoint_dir: Path,
    on_moved: OnMoved | None = None,
) -> list[StackMigration]:
    """Migrate every stack in order; ReorgError naming the first stack that failed.

    ``on_moved`` hears of each stack whose state now carries the new project name.
    """
    results = []
    for rename in renames:
        result = migrate_stack(migrator, rename, repo=repo, checkpoint_dir=checkpoint_dir)
        if on_moved is not None and result.status is not StackStatus.NO_STATE:
            on_moved(result)
        results.append(result)
    return results


def migrate_stack(
    migrator: StateMigrator, rename: StackRename, *, repo: Path, checkpoint_dir: Path
) -> StackMigration:
    """Checkpoint, rename and verify one stack; restore the checkpoint on any failure."""
    old, new = _label(rename, old=True), _label(rename, old=False)
    in_new = migrator.stack_exists(rename.new_project, rename.stack)
    in_old = migrator.stack_exists(rename.old_project, rename.stack)
    if in_new and in_old:
        raise ReorgError(
            f"{old} and {new} both exist in the backend, so it is unclear which state is "
            "current; remove the stale one (`pulumi stack rm`) and apply again"
        )
    if in_new:
        return StackMigration(rename, StackStatus.ALREADY_MIGRATED)
    if not in_old:
        return StackMigration(rename, StackStatus.NO_STATE)
    checkpoint = checkpoint_dir / f"{rename.old_project}.{rename.stack}.checkpoint.json"
    try:
        migrator.export_stack(rename.old_project, rename.stack, str(checkpoint))
    except Exception as error:
        raise ReorgError(
            f"state migration of {old} stopped before any change: the checkpoint export "
            f"failed: {error}"
        ) from error
    project_dir = str(repo / rename.directory)
    step = "rename"
    try:
        migrator.rename_stack(rename.old_project, rename.new_project, rename.stack, project_dir)
        step = "no-change preview"
        migrator.verify_no_changes(rename.new_project, rename.stack, project_dir)
    except Exception as error:  # any failure: the stack must not stay half-migrated
        _restore(migrator, rename, checkpoint, project_dir, cause=f"{step} failed: {error}")
        raise ReorgError(
            f"state migration of {old} to {new} failed ({step} failed: {error}); the "
            f"checkpoint was restored, so {old} is as it was before. The files stay "
            "reorganised; fix the cause and apply again (migrated stacks are skipped)"
        ) from error
    return StackMigration(rename, StackStatus.MIGRATED, str(checkpoint))


def _restore(
    migrator: StateMigrator, rename: StackRename, checkpoint: Path, project_dir: str, cause: str
) -> None:
    """Rename the stack back if it moved, then import the checkpoint; ReorgError if that fails."""
    old, new = _label(rename, old=True), _label(rename, old=False)
    try:
        moved = migrator.stack_exists(rename.new_project, rename.stack)
        if moved and not migrator.stack_exists(rename.old_project, rename.stack):
            migrator.rename_stack(rename.new_project, rename.old_project, rename.stack, project_dir)
        migrator.restore_stack(rename.old_project, rename.stack, str(checkpoint), project_dir)
    except Exception as error:
        raise ReorgError(
            f"state migration of {old} to {new} failed ({cause}) and restoring its "
            f"checkpoint failed too ({error}); restore it by hand: `pulumi stack rename {old} "
            f"--stack {new}` if {new} exists, then `pulumi stack import --stack {old} "
            f"--file {checkpoint}`"
        ) from error


def _label(rename: StackRename, *, old: bool) -> str:
    project = rename.old_project if old else rename.new_project
    return f"{rename.org}/{project}/{rename.stack}"


def migrate_applied_run(
    repository: ReorgRepository, migrator: StateMigrator
) -> list[StackMigration]:
    """Migrate the stacks of the repository's completed run, recording each moved stack."""
    plan = repository.completed_plan()
    if plan is None:
        raise ReorgError(NO_COMPLETED_RUN)

    def record(result: StackMigration) -> None:
        repository.record_migrated(_label(result.rename, old=False))

    return migrate_stacks(
        migrator,
        plan.renames,
        repo=repository.repo,
        checkpoint_dir=repository.checkpoint_dir,
        on_moved=record,
    )


@named("migrate_stack_state[{repo_path:name}]")
@local_task
def migrate_stack_state(repo_path: str) -> list[str] | None:
    """Migrate the renamed stacks' state; None (nothing done) when the Pulumi CLI is missing."""
    clients = for_process(load_settings())
    repository = clients.reorg_repository(Path(repo_path))
    plan = repository.completed_plan()
    if plan is None:
        raise ReorgError(NO_COMPLETED_RUN)
    try:
        migrator = clients.state_migrator(plan.mapping.org)
    except ToolMissing as missing:
        get_run_logger().warning("%s", missing)
        return None
    return [result.line for result in migrate_applied_run(repository, migrator)]
