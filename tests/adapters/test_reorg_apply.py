"""Applying the reorganisation to a real git repo (a copy of examples/orchestra-main).

Covers: apply then validate, re-apply as a no-op, a kill at every step position
followed by rollback (byte-identical tree) or resume (the fully applied tree), real
SIGKILLs in a subprocess, refusals (dirty tree, symlink out, mapping errors) and the
state-migration outcome with and without a migrator.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from orchestra_ops.adapters.git import Git, read_links, read_snapshot
from orchestra_ops.adapters.journal import Journal
from orchestra_ops.adapters.reorg_apply import JOURNAL, ReorgApplier
from orchestra_ops.domain.outcomes import RunOutcome
from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import default_mapping, parse_mapping
from orchestra_ops.domain.reorg.model import Move, Plan
from orchestra_ops.domain.reorg.plan import build_plan
from orchestra_ops.domain.reorg.validate import validate_layout
from orchestra_ops.errors import ConfigError, ReorgError
from tests.tree import tree_hash
from tests.unit.reorg.snapshots import FIXTURE, fixture_snapshot

IDENTITY = ("-c", "user.name=Test", "-c", "user.email=test@example.invalid")
BRANCH = "orchestra-ops/pulumi-reorg"


@functools.cache
def _fixture_plan() -> Plan:
    """The default plan of the fixture (the template repo holds the same files)."""
    snapshot = fixture_snapshot()
    return build_plan(snapshot, default_mapping(discover(snapshot)))


# begin, then intent / acted / done for the branch, every operation and the commit.
STEPS = ["branch", *(f"op:{i}" for i in range(len(_fixture_plan().operations))), "commit"]
LABELS = ["begin", *(f"{step}:{at}" for step in STEPS for at in ("intent", "acted", "done"))]
POSITIONS = len(LABELS)


def _sweep_params() -> list[object]:
    """One case per kill position; an operation's "done" point is marked slow.

    Killed after ``op:N:done`` differs from killed after ``op:N+1:intent`` only by that
    intent record, so ``make test-fast`` (``-m "not slow"``) may skip those 29 cases.
    """
    params = []
    for position, label in enumerate(LABELS):
        redundant = label.startswith("op:") and label.endswith(":done")
        marks = [pytest.mark.slow] if redundant else []
        params.append(pytest.param(position, id=label, marks=marks))
    return params


class Crash(BaseException):
    """Stands for a kill: nothing in the applier catches it."""


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture(autouse=True)
def _remove_scratch(tmp_path: Path) -> Iterator[None]:
    """Delete each test's repo copies at once: pytest's tmp retention is shared by everyone."""
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture as a one-commit git repo on ``main`` (copied by every test)."""
    repo = tmp_path_factory.mktemp("template") / "orchestra-main"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("node_modules", "dist", ".next"))
    _git(repo, "init", "-q", "-b", "main", "--template=")  # no sample hooks to copy
    # Throwaway repos: git's own fsyncs only slow the tests (the journal still fsyncs).
    _git(repo, "config", "core.fsync", "none")
    _git(repo, "config", "gc.auto", "0")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "legacy layout")
    _git(repo, "repack", "-a", "-d", "-q")  # one pack instead of loose objects: faster copies
    _git(repo, "prune-packed")
    yield repo
    shutil.rmtree(repo.parent, ignore_errors=True)


@dataclass
class Applied:
    """The reference run: the tree hashes before and after, and the commit's tree."""

    before: str
    after: str
    commit_tree: str
    labels: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def reference(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Applied:
    repo = _copy(template, tmp_path_factory.mktemp("reference") / "repo")
    labels: list[str] = []
    before = tree_hash(repo)
    ReorgApplier(repo, on_step=labels.append).apply(_plan_of(repo))
    applied = Applied(before, tree_hash(repo), _git(repo, "rev-parse", "HEAD^{tree}"), labels)
    shutil.rmtree(repo.parent, ignore_errors=True)
    return applied


def _copy(source: Path, destination: Path) -> Path:
    # The whole repo as a kill left it: modes, links, .git and the journal included.
    subprocess.run(["cp", "-a", str(source), str(destination)], check=True)
    return destination


def _plan_of(repo: Path) -> Plan:
    snapshot = read_snapshot(repo)
    return build_plan(snapshot, default_mapping(discover(snapshot)))


def _crash_at(position: int) -> Callable[[str], None]:
    calls = iter(range(POSITIONS + 1))

    def hook(_label: str) -> None:
        if next(calls) == position:
            raise Crash(position)

    return hook


def test_apply_moves_rewrites_commits_and_validates(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    original_head = _git(repo, "rev-parse", "HEAD").strip()
    plan = _plan_of(repo)
    result = ReorgApplier(repo).apply(plan)
    assert result.outcome is RunOutcome.STATE_MIGRATION_PENDING
    assert result.changed and result.branch == BRANCH
    assert "pulumi stack rename orchestra/orchestra-backend/dev" in " ".join(
        result.pending_commands
    )
    report = validate_layout(read_snapshot(repo), plan)
    assert report.ok, report.problems
    git = Git(repo)
    assert git.is_clean() and git.current_branch() == BRANCH
    assert _git(repo, "rev-parse", "HEAD~1").strip() == original_head
    renames = _git(repo, "diff", "--name-status", "-M", "HEAD~1", "HEAD").splitlines()
    assert "R100\tindex.ts\tinfrastructure/pulumi/frontend/index.ts" not in renames  # rewritten
    assert any(line.startswith("R") and line.endswith("frontend/index.ts") for line in renames)
    assert "R100\tlegacy/infra/dev/__main__.py\tinfrastructure/pulumi/legacy/dev/__main__.py" in (
        renames
    )
    assert os.access(repo / "deploy_lambda_labs.sh", os.X_OK)
    assert not (repo / "legacy").exists() and (repo / "admin-interface/package.json").exists()


def test_reapplying_an_applied_plan_changes_nothing(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    plan = _plan_of(repo)
    applier = ReorgApplier(repo)
    applier.apply(plan)
    hash_after, head = tree_hash(repo), _git(repo, "rev-parse", "HEAD")
    records = len(Journal(repo / JOURNAL).read())
    again = applier.apply(plan)
    assert not again.changed and again.outcome is RunOutcome.STATE_MIGRATION_PENDING
    assert tree_hash(repo) == hash_after and _git(repo, "rev-parse", "HEAD") == head
    assert len(Journal(repo / JOURNAL).read()) == records
    assert not applier.resume().changed


def test_a_clean_run_passes_every_position(reference: Applied) -> None:
    assert reference.labels == LABELS


@pytest.fixture(scope="module")
def killed_states(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    """The repo as a kill at each position would leave it, one copy per position.

    The hook runs between steps, after every write of the step before is on disk and
    closed, so a copy taken there is exactly what a SIGKILL at that point leaves (the
    subprocess tests below check a few positions with a real SIGKILL). The sweep skips
    fsync (``durable=False``): a kill loses no page-cache data, only a power cut would,
    and fsyncs by the thousand would dominate the test time.
    """
    base = tmp_path_factory.mktemp("killed")
    live = _copy(template, base / "live")
    states: list[Path] = []

    def snapshot_here(label: str) -> None:
        states.append(_copy(live, base / f"{len(states):03d}-{label.replace(':', '-')}"))

    ReorgApplier(live, on_step=snapshot_here, durable=False).apply(_fixture_plan())
    yield states
    shutil.rmtree(base, ignore_errors=True)


def test_every_position_was_captured(killed_states: list[Path]) -> None:
    assert len(killed_states) == POSITIONS


@pytest.mark.slow
@pytest.mark.parametrize("position", _sweep_params())
def test_kill_at_any_position_rolls_back_or_resumes_exactly(
    position: int, killed_states: list[Path], reference: Applied, tmp_path: Path
) -> None:
    resumed = killed_states[position]
    crashed = _copy(resumed, tmp_path / "crashed")

    ReorgApplier(crashed, durable=False).rollback()
    assert tree_hash(crashed) == reference.before
    # Clean, on main, and the reorganisation branch is gone.
    assert _git(crashed, "status", "--porcelain", "-b") == "## main\n"
    assert _git(crashed, "branch", "--list") == "* main\n"

    result = ReorgApplier(resumed, durable=False).resume()
    assert result.changed
    assert tree_hash(resumed) == reference.after
    assert _git(resumed, "rev-parse", "HEAD^{tree}") == reference.commit_tree
    assert _git(resumed, "status", "--porcelain", "-b") == f"## {BRANCH}\n"
    shutil.rmtree(resumed)


def test_an_exception_mid_run_leaves_a_recoverable_run(
    template: Path, reference: Applied, tmp_path: Path
) -> None:
    for position in (5, POSITIONS // 2, POSITIONS - 2):
        repo = _copy(template, tmp_path / f"repo-{position}")
        with pytest.raises(Crash):
            ReorgApplier(repo, on_step=_crash_at(position)).apply(_fixture_plan())
        with pytest.raises(ReorgError, match="interrupted reorganisation is open"):
            ReorgApplier(repo).apply(_fixture_plan())
        ReorgApplier(repo).rollback()
        assert tree_hash(repo) == reference.before


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from orchestra_ops.adapters.git import read_snapshot
    from orchestra_ops.adapters.reorg_apply import ReorgApplier
    from orchestra_ops.domain.reorg.discover import discover
    from orchestra_ops.domain.reorg.mapping import default_mapping
    from orchestra_ops.domain.reorg.plan import build_plan

    repo, target = Path(sys.argv[1]), sys.argv[2]
    def hook(label):
        if label == target:
            os.kill(os.getpid(), signal.SIGKILL)
    snapshot = read_snapshot(repo)
    plan = build_plan(snapshot, default_mapping(discover(snapshot)))
    ReorgApplier(repo, on_step=hook).apply(plan)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "label", ["begin", "branch:acted", "op:3:intent", "op:15:acted", "op:20:acted", "commit:acted"]
)
def test_real_sigkill_then_recovery(
    label: str, template: Path, reference: Applied, tmp_path: Path
) -> None:
    crashed = _copy(template, tmp_path / "crashed")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(crashed), label], capture_output=True, check=False
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    with pytest.raises(ReorgError, match="interrupted reorganisation is open"):
        ReorgApplier(crashed).apply(_fixture_plan())
    resumed = _copy(crashed, tmp_path / "resumed")
    ReorgApplier(crashed).rollback()
    assert tree_hash(crashed) == reference.before and Git(crashed).is_clean()
    ReorgApplier(resumed).resume()
    assert tree_hash(resumed) == reference.after and Git(resumed).is_clean()


def test_rollback_of_a_finished_run_restores_the_tree(
    template: Path, reference: Applied, tmp_path: Path
) -> None:
    repo = _copy(template, tmp_path / "repo")
    applier = ReorgApplier(repo)
    plan = _plan_of(repo)
    applier.apply(plan)
    applier.rollback()
    assert tree_hash(repo) == reference.before and Git(repo).current_branch() == "main"
    applier.rollback()  # a second rollback has nothing left to do
    assert applier.apply(plan).changed  # and the plan can be applied again
    assert tree_hash(repo) == reference.after


def test_dirty_tree_is_refused_and_nothing_changes(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    plan = _plan_of(repo)
    (repo / "notes.txt").write_text("work in progress\n")
    before = tree_hash(repo)
    with pytest.raises(ReorgError, match="working tree has changes"):
        ReorgApplier(repo).apply(plan)
    assert tree_hash(repo) == before
    assert Git(repo).current_branch() == "main" and not (repo / JOURNAL).exists()


def test_symlink_leading_outside_is_refused(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "legacy/infra/shared-secrets").symlink_to(outside)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "link")
    before = tree_hash(repo)
    snapshot = read_snapshot(repo)
    # The plan is still made: the project holding the link stays, the others move.
    plan = build_plan(snapshot, default_mapping(discover(snapshot)), read_links(repo))
    assert plan.refused and plan.refused[0].startswith("legacy/infra stays where it is")
    assert "legacy/infra/shared-secrets is a symlink leading outside" in plan.refused[0]
    sources = {op.src for op in plan.operations if isinstance(op, Move)}
    assert not any(s.startswith("legacy/infra/") and "/dev/" not in s for s in sources)
    assert any(s.startswith("legacy/infra/dev/") for s in sources)
    # A plan made without knowing of the link is refused at apply, before anything changes.
    with pytest.raises(ReorgError, match="shared-secrets' leads outside the repo"):
        ReorgApplier(repo).apply(_fixture_plan())
    assert tree_hash(repo) == before and not (repo / JOURNAL).exists()
    # The plan that knows of it applies; a crash and resume still report what it refused.
    with pytest.raises(Crash):
        ReorgApplier(repo, on_step=_crash_at(5), durable=False).apply(plan)
    resumed = ReorgApplier(repo, durable=False).resume()
    assert resumed.refused == plan.refused and resumed.manual == plan.manual
    assert resumed.operations == len(plan.operations) > 0
    assert (repo / "legacy/infra/shared-secrets").resolve() == outside.resolve()
    assert (repo / "infrastructure/pulumi/legacy/dev/Pulumi.yaml").is_file()


def test_mapping_errors_name_file_and_line_before_anything_changes(
    template: Path, tmp_path: Path
) -> None:
    repo = _copy(template, tmp_path / "repo")
    before = tree_hash(repo)
    mapping = (
        "org: orchestra\nprojects:\n  - source: legacy/infra\n    target: ../../etc\n    name: x\n"
    )
    with pytest.raises(ConfigError, match=r"reorg\.yaml:4: '\.\./\.\./etc' points outside"):
        build_plan(read_snapshot(repo), parse_mapping(mapping))
    literal = "projects:\n  - source: .\n    target: Pulumi.frontend.yaml\n    name: f\n"
    with pytest.raises(ConfigError, match=r"reorg\.yaml:3: .* refused: Pulumi reads"):
        parse_mapping(literal)
    assert tree_hash(repo) == before


def test_resume_and_rollback_without_a_run_are_refused(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    with pytest.raises(ReorgError, match="no reorganisation run is journaled"):
        ReorgApplier(repo).resume()
    with pytest.raises(ReorgError, match="no reorganisation run is journaled"):
        ReorgApplier(repo).rollback()


def test_leftover_temp_file_and_git_lock_of_a_kill_are_cleaned(
    template: Path, reference: Applied, tmp_path: Path
) -> None:
    crashed = _copy(template, tmp_path / "crashed")
    plan = _fixture_plan()
    position = reference.labels.index("op:20:intent")  # a rewrite announced, not yet done
    with pytest.raises(Crash):
        ReorgApplier(crashed, on_step=_crash_at(position)).apply(plan)
    target = plan.operations[20]
    assert not isinstance(target, Move)
    # What a kill inside atomic_write and inside a git command would leave behind.
    (crashed / f"{target.path}.orchestra-tmp").write_text("half written")
    (crashed / ".git" / "index.lock").write_text("")
    resumed = _copy(crashed, tmp_path / "resumed")
    ReorgApplier(crashed).rollback()
    assert tree_hash(crashed) == reference.before
    ReorgApplier(resumed).resume()
    assert tree_hash(resumed) == reference.after


def test_plan_paths_outside_the_repo_are_refused(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    before = tree_hash(repo)
    escaping = replace(
        _fixture_plan(), operations=(Move("legacy/infra/Pulumi.yaml", "../escape/Pulumi.yaml"),)
    )
    with pytest.raises(ReorgError, match="outside the repo"):
        ReorgApplier(repo).apply(escaping)
    assert tree_hash(repo) == before and not (repo / JOURNAL).exists()


def test_journal_drops_a_torn_last_line_and_refuses_a_corrupt_one(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    journal.append({"event": "begin", "n": 1})
    journal.append({"event": "intent", "step": "op:0"})
    with journal.path.open("a") as handle:
        handle.write('{"event": "do')  # killed mid-write
    assert [r["event"] for r in journal.read()] == ["begin", "intent"]
    journal.path.write_text('{"event": "begin"}\nnot json\n{"event": "done"}\n')
    with pytest.raises(ReorgError, match="corrupt at line 2"):
        journal.read()


def test_rollback_refuses_to_lose_later_work(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    ReorgApplier(repo).apply(_fixture_plan())
    (repo / "later.txt").write_text("more work\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "later work on the reorg branch")
    with pytest.raises(ReorgError, match="has commits of its own"):
        ReorgApplier(repo).rollback()
    _git(repo, "checkout", "-q", "-b", "elsewhere")
    with pytest.raises(ReorgError, match="check out 'orchestra-ops/pulumi-reorg' before"):
        ReorgApplier(repo).rollback()
    assert (repo / "later.txt").exists()


def test_an_empty_plan_creates_no_branch_and_no_commit(template: Path, tmp_path: Path) -> None:
    repo = _copy(template, tmp_path / "repo")
    snapshot = read_snapshot(repo)
    plan = build_plan(snapshot, parse_mapping("org: orchestra\nprojects: []\n"))
    assert plan.operations == ()
    result = ReorgApplier(repo).apply(plan)
    assert result.outcome is RunOutcome.APPLIED and not result.changed
    assert result.branch == "main" and not Git(repo).branch_exists(BRANCH)


def test_every_journal_record_and_rewrite_is_fsynced_by_default(
    template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _copy(template, tmp_path / "repo")
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(descriptor: int) -> None:
        synced.append(descriptor)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    plan = _fixture_plan()
    ReorgApplier(repo).apply(plan)
    records = len(Journal(repo / JOURNAL).read())
    rewrites = sum(1 for op in plan.operations if not isinstance(op, Move))
    # One per record, two per atomic rewrite (file and directory), one for the new journal dir.
    assert len(synced) == records + 2 * rewrites + 1
