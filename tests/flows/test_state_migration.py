"""Phase 4C: the state-migration sequence over a fake of our StateMigrator port, then the flow.

``RecordingStateMigrator`` is an in-test fake of our own port: it keeps stacks in a dict,
records every call, and raises where a test tells it to. The flow tests at the end run
the real adapter against ``fake_pulumi`` (see tests/adapters/pulumi/test_state.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flows.stack_reorganisation import ReorgAction, ReorgParams, stack_reorganisation
from orchestra_ops.adapters.git import read_snapshot
from orchestra_ops.adapters.reorg_apply import ReorgApplier
from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import default_mapping
from orchestra_ops.domain.reorg.model import Plan, StackRename
from orchestra_ops.domain.reorg.plan import build_plan
from orchestra_ops.errors import ReorgError, StackConflict, StackError, StackUnavailable
from tasks.state_migration import (
    StackMigration,
    StackStatus,
    migrate_applied_run,
    migrate_stacks,
)
from tests.adapters.pulumi.test_state import install_fake_cli, seed_stack, stack_content

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"
LEGACY = StackRename("orchestra", "legacy-infra", "orchestra-shared", "dev", "infra/shared")
OLD_STATE = '{"version": 3, "deployment": {"marker": "before"}}'


@dataclass
class RecordingStateMigrator:
    """Fake StateMigrator: stacks as ``{(project, stack): state}``; ``fail`` maps a method
    name to the error its next call raises (once)."""

    stacks: dict[tuple[str, str], str]
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise self.fail.pop(method)

    def stack_exists(self, project: str, stack: str) -> bool:
        self.calls.append(("exists", project, stack))
        return (project, stack) in self.stacks

    def export_stack(self, project: str, stack: str, destination: str) -> None:
        self.calls.append(("export", project, stack, destination))
        self._maybe_fail("export_stack")
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        Path(destination).write_text(self.stacks[(project, stack)])

    def rename_stack(
        self, old_project: str, new_project: str, stack: str, project_dir: str | None = None
    ) -> None:
        self.calls.append(("rename", old_project, new_project, stack, str(project_dir)))
        self._maybe_fail("rename_stack")
        # A rename that went through also rewrites the URNs: the state is not byte-equal.
        state = self.stacks.pop((old_project, stack))
        self.stacks[(new_project, stack)] = state.replace("before", f"renamed-{new_project}")

    def restore_stack(
        self, project: str, stack: str, checkpoint: str, project_dir: str | None = None
    ) -> None:
        self.calls.append(("restore", project, stack, checkpoint, str(project_dir)))
        self._maybe_fail("restore_stack")
        assert (project, stack) in self.stacks, "import needs an existing stack"
        self.stacks[(project, stack)] = Path(checkpoint).read_text()

    def verify_no_changes(self, project: str, stack: str, project_dir: str) -> None:
        self.calls.append(("verify", project, stack, project_dir))
        self._maybe_fail("verify_no_changes")


def _run(migrator: RecordingStateMigrator, tmp_path: Path, *renames: StackRename) -> list[str]:
    results = migrate_stacks(
        migrator, renames or (LEGACY,), repo=tmp_path / "repo", checkpoint_dir=tmp_path / "cp"
    )
    return [r.line for r in results]


# --- the sequence -----------------------------------------------------------------------


def test_checkpoint_then_rename_then_verify_in_the_moved_project(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator({("legacy-infra", "dev"): OLD_STATE})
    moved: list[StackMigration] = []
    results = migrate_stacks(
        migrator,
        [LEGACY],
        repo=tmp_path / "repo",
        checkpoint_dir=tmp_path / "cp",
        on_moved=moved.append,
    )
    checkpoint = str(tmp_path / "cp" / "legacy-infra.dev.checkpoint.json")
    project_dir = str(tmp_path / "repo" / "infra" / "shared")
    assert migrator.calls == [
        ("exists", "orchestra-shared", "dev"),
        ("exists", "legacy-infra", "dev"),
        ("export", "legacy-infra", "dev", checkpoint),
        ("rename", "legacy-infra", "orchestra-shared", "dev", project_dir),
        ("verify", "orchestra-shared", "dev", project_dir),
    ]
    assert Path(checkpoint).read_text() == OLD_STATE
    assert set(migrator.stacks) == {("orchestra-shared", "dev")}
    assert [r.status for r in results] == [StackStatus.MIGRATED]
    assert results[0].checkpoint == checkpoint and moved == results
    assert results[0].line == (
        "orchestra/legacy-infra/dev -> orchestra/orchestra-shared/dev: migrated"
    )


def test_failed_verify_renames_back_and_restores_the_checkpoint(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE},
        fail={"verify_no_changes": StackError("preview: 1 to update")},
    )
    with pytest.raises(ReorgError) as info:
        _run(migrator, tmp_path)
    message = str(info.value)
    assert "orchestra/legacy-infra/dev" in message and "orchestra/orchestra-shared/dev" in message
    assert "no-change preview failed: preview: 1 to update" in message
    assert "checkpoint was restored" in message
    assert isinstance(info.value.__cause__, StackError)
    project_dir = str(tmp_path / "repo" / "infra" / "shared")
    checkpoint = str(tmp_path / "cp" / "legacy-infra.dev.checkpoint.json")
    assert migrator.calls[5:] == [
        ("exists", "orchestra-shared", "dev"),
        ("exists", "legacy-infra", "dev"),
        ("rename", "orchestra-shared", "legacy-infra", "dev", project_dir),
        ("restore", "legacy-infra", "dev", checkpoint, project_dir),
    ]
    assert migrator.stacks == {("legacy-infra", "dev"): OLD_STATE}  # byte for byte


def test_failed_rename_restores_without_renaming_back(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE},
        fail={"rename_stack": StackConflict("another update holds the stack lock")},
    )
    with pytest.raises(ReorgError, match=r"legacy-infra/dev .*\(rename failed: another update"):
        _run(migrator, tmp_path)
    assert [c[0] for c in migrator.calls] == [
        "exists",
        "exists",
        "export",
        "rename",
        "exists",
        "restore",
    ]
    assert not any(c[0] == "verify" for c in migrator.calls)
    assert migrator.stacks == {("legacy-infra", "dev"): OLD_STATE}


def test_a_stack_without_state_is_left_alone(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator({("someone-else", "dev"): "{}"})
    moved: list[StackMigration] = []
    results = migrate_stacks(
        migrator, [LEGACY], repo=tmp_path, checkpoint_dir=tmp_path / "cp", on_moved=moved.append
    )
    assert [r.status for r in results] == [StackStatus.NO_STATE] and moved == []
    assert [c[0] for c in migrator.calls] == ["exists", "exists"]
    assert not (tmp_path / "cp").exists()


def test_a_stack_already_under_its_new_name_is_not_touched_again(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator({("legacy-infra", "dev"): OLD_STATE})
    _run(migrator, tmp_path)
    after_first = dict(migrator.stacks)
    migrator.calls.clear()
    assert _run(migrator, tmp_path) == [
        "orchestra/legacy-infra/dev -> orchestra/orchestra-shared/dev: already under the new name"
    ]
    assert [c[0] for c in migrator.calls] == ["exists", "exists"]
    assert migrator.stacks == after_first


def test_both_names_in_the_backend_is_refused_before_any_change(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE, ("orchestra-shared", "dev"): "{}"}
    )
    with pytest.raises(ReorgError, match="both exist in the backend"):
        _run(migrator, tmp_path)
    assert [c[0] for c in migrator.calls] == ["exists", "exists"]


def test_a_failed_export_changes_nothing(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE},
        fail={"export_stack": StackUnavailable("backend unreachable")},
    )
    with pytest.raises(ReorgError, match="legacy-infra/dev stopped before any change"):
        _run(migrator, tmp_path)
    assert [c[0] for c in migrator.calls] == ["exists", "exists", "export"]
    assert migrator.stacks == {("legacy-infra", "dev"): OLD_STATE}


def test_a_failed_restore_says_how_to_restore_by_hand(tmp_path: Path) -> None:
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE},
        fail={
            "verify_no_changes": StackError("preview: 2 to replace"),
            "restore_stack": StackError("import refused"),
        },
    )
    with pytest.raises(ReorgError) as info:
        _run(migrator, tmp_path)
    message = str(info.value)
    checkpoint = tmp_path / "cp" / "legacy-infra.dev.checkpoint.json"
    assert "restoring its checkpoint failed too (import refused)" in message
    assert f"pulumi stack import --stack orchestra/legacy-infra/dev --file {checkpoint}" in message
    assert checkpoint.read_text() == OLD_STATE  # the checkpoint stays for that


def test_stacks_before_a_failure_stay_migrated_and_are_reported(tmp_path: Path) -> None:
    second = StackRename("orchestra", "legacy-infra", "orchestra-shared", "prod", "infra/shared")
    migrator = RecordingStateMigrator(
        {("legacy-infra", "dev"): OLD_STATE, ("legacy-infra", "prod"): OLD_STATE},
    )
    moved: list[StackMigration] = []
    original = migrator.verify_no_changes

    def verify(project: str, stack: str, project_dir: str) -> None:
        original(project, stack, project_dir)
        if stack == "prod":
            raise StackError("prod drifted")

    migrator.verify_no_changes = verify  # type: ignore[method-assign]
    with pytest.raises(ReorgError, match="orchestra/legacy-infra/prod"):
        migrate_stacks(
            migrator,
            [LEGACY, second],
            repo=tmp_path,
            checkpoint_dir=tmp_path / "cp",
            on_moved=moved.append,
        )
    assert [m.rename.stack for m in moved] == ["dev"]
    assert set(migrator.stacks) == {("orchestra-shared", "dev"), ("legacy-infra", "prod")}
    assert migrator.stacks[("legacy-infra", "prod")] == OLD_STATE


# --- on an applied repository -----------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }.items():
        monkeypatch.setenv(name, value)
    target = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, target)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "legacy"]):
        subprocess.run(["git", *args], cwd=target, check=True, env=os.environ)
    return target


def _plan_of(repo: Path) -> Plan:
    snapshot = read_snapshot(repo)
    return build_plan(snapshot, default_mapping(discover(snapshot)))


def test_migrating_an_applied_run_journals_each_stack_and_blocks_file_rollback(
    repo: Path,
) -> None:
    plan = _plan_of(repo)
    assert plan.renames
    ReorgApplier(repo).apply(plan)
    migrator = RecordingStateMigrator({(r.old_project, r.stack): OLD_STATE for r in plan.renames})
    results = migrate_applied_run(ReorgApplier(repo), migrator)
    assert {r.status for r in results} == {StackStatus.MIGRATED}
    assert set(migrator.stacks) == {(r.new_project, r.stack) for r in plan.renames}
    for rename in plan.renames:
        assert ("verify", rename.new_project, rename.stack, str(repo / rename.directory)) in (
            migrator.calls
        )
    journal = ReorgApplier(repo).journal
    records = [r for r in journal.current_run() if r["event"] == "state-migrated"]
    assert len(records) == len(plan.renames)
    assert (journal.path.parent / "checkpoints").is_dir()  # inside .git: the tree stays clean
    with pytest.raises(ReorgError, match="rename the stacks back"):
        ReorgApplier(repo).rollback()
    again = migrate_applied_run(ReorgApplier(repo), migrator)
    assert {r.status for r in again} == {StackStatus.ALREADY_MIGRATED}
    assert len([r for r in journal.current_run() if r["event"] == "state-migrated"]) == len(records)


def test_migrating_without_an_applied_run_is_refused(repo: Path) -> None:
    with pytest.raises(ReorgError, match="no completed reorganisation run"):
        migrate_applied_run(ReorgApplier(repo), RecordingStateMigrator({}))


# --- the flow, with the adapter over fake_pulumi ---------------------------------------


@pytest.fixture
def cli_backend(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Plan]:
    """fake_pulumi on PATH holding every old stack of the example's plan."""
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    state = install_fake_cli(tmp_path, monkeypatch)
    plan = _plan_of(repo)
    for r in plan.renames:
        seed_stack(state, f"organization/{r.old_project}/{r.stack}", OLD_STATE)
    return state, plan


@pytest.mark.usefixtures("prefect_harness")
def test_flow_migrates_the_state_when_the_cli_is_there(
    repo: Path, cli_backend: tuple[Path, Plan]
) -> None:
    state, plan = cli_backend
    report = stack_reorganisation(ReorgParams(repo_path=str(repo), action=ReorgAction.APPLY))
    assert (report.outcome, report.pending_commands) == ("applied", [])
    assert len(report.stacks) == len(plan.renames)
    assert all(line.endswith(": migrated") for line in report.stacks)
    for r in plan.renames:
        assert stack_content(state, f"organization/{r.old_project}/{r.stack}") is None
        assert stack_content(state, f"organization/{r.new_project}/{r.stack}") == OLD_STATE
    again = stack_reorganisation(ReorgParams(repo_path=str(repo), action=ReorgAction.APPLY))
    assert again.outcome == "applied"
    assert all(line.endswith(": already under the new name") for line in again.stacks)


@pytest.mark.usefixtures("prefect_harness")
def test_flow_fails_naming_the_stack_and_restores_it_when_the_preview_changes(
    repo: Path, cli_backend: tuple[Path, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    state, plan = cli_backend
    monkeypatch.setenv("FAKE_PULUMI_PREVIEW_CHANGES", "1")
    first = plan.renames[0]
    with pytest.raises(ReorgError) as info:
        stack_reorganisation(ReorgParams(repo_path=str(repo), action=ReorgAction.APPLY))
    assert f"{first.org}/{first.old_project}/{first.stack}" in str(info.value)
    assert "checkpoint was restored" in str(info.value)
    for r in plan.renames:  # the failed one restored, the others never started
        assert stack_content(state, f"organization/{r.old_project}/{r.stack}") == OLD_STATE
        assert stack_content(state, f"organization/{r.new_project}/{r.stack}") is None
    assert (repo / "infrastructure/pulumi/backend/Pulumi.yaml").exists()  # files stay moved
