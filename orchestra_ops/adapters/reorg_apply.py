"""Carry out a reorganisation plan on a git repo, and resume or roll back a broken run.

Apply refuses a dirty tree, paths outside the repo and symlinks leading out of it,
then works on a new branch. Every step is journaled (``journal.py``) before and after
it runs. ``rollback`` restores the tree byte for byte; ``resume`` finishes the plan;
applying a finished plan again changes nothing. A plan that renames projects ends in
``state migration pending`` with the CLI commands; ``tasks/state_migration.py`` carries
the state over (checkpoint, rename, verify, restore) and records each stack it moved
here (:meth:`ReorgApplier.record_migrated`), which blocks a file rollback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from orchestra_ops.adapters.files import discard_temp, write_atomically
from orchestra_ops.adapters.git import Git, inside, read_links, read_snapshot
from orchestra_ops.adapters.journal import (
    Journal,
    RunState,
    decode_bytes,
    encode_bytes,
    encode_plan,
    plan_id,
    prune_empty_dirs,
    run_state,
)
from orchestra_ops.domain.outcomes import RunOutcome
from orchestra_ops.domain.reorg.model import ApplyResult, Move, Plan, Rewrite, is_under, parent
from orchestra_ops.domain.reorg.plan import apply_to_snapshot, state_commands
from orchestra_ops.errors import ReorgError

JOURNAL = Path(".git") / "orchestra-reorg" / "journal.jsonl"
StepHook = Callable[[str], None]
_LOCKS = ("index.lock", "HEAD.lock")


class ReorgApplier:
    """Apply, resume and roll back reorganisation runs on one repository.

    ``on_step(label)`` is called after each journal record and each action (labels like
    ``op:3:intent``, ``op:3:acted``, ``op:3:done``): the seam tests use to kill a run
    at any point. ``durable=False`` skips fsyncs (see ``Journal``).
    """

    def __init__(
        self,
        repo: Path,
        *,
        on_step: StepHook | None = None,
        journal_path: Path | None = None,
        git: Git | None = None,
        durable: bool = True,
    ) -> None:
        self.repo = repo
        self.git = git or Git(repo)
        self.journal = Journal(journal_path or repo / JOURNAL, durable=durable)
        self._on_step = on_step or (lambda _label: None)

    # --- entry points -------------------------------------------------------------------

    def snapshot(self) -> dict[str, str]:
        """See :func:`~orchestra_ops.adapters.git.read_snapshot`."""
        return read_snapshot(self.repo, self.git)

    def links(self) -> dict[str, str | None]:
        """See :func:`~orchestra_ops.adapters.git.read_links`."""
        return read_links(self.repo, self.git)

    def completed_plan(self) -> Plan | None:
        """The plan of the last run, when that run completed (re-applying it is a no-op)."""
        state = run_state(self.journal.current_run())
        return state.plan if state is not None and state.finished == "complete" else None

    def apply(self, plan: Plan) -> ApplyResult:
        """Carry out ``plan`` on a new branch; a finished identical plan is a no-op."""
        state = run_state(self.journal.current_run())
        if state is not None and state.finished is None:
            raise ReorgError("an interrupted reorganisation is open: resume or roll it back")
        if state is not None and state.finished == "complete":
            if state.begin["plan_id"] == plan_id(plan):
                return self._result(state.plan, changed=False)
        if not plan.operations:  # nothing to move or rewrite: no branch, no commit
            branch, head = self.git.head()
            return ApplyResult(
                RunOutcome.APPLIED, branch, head, (), False, plan.manual, plan.refused
            )
        self._preflight(plan)
        branch, head = self.git.head()
        self.journal.append(
            {
                "event": "begin",
                "plan_id": plan_id(plan),
                "plan": encode_plan(plan),
                "original_branch": branch,
                "original_head": head,
            }
        )
        self._on_step("begin")
        return self.resume()

    def resume(self) -> ApplyResult:
        """Finish the open run from where it stopped."""
        state = self._open_state()
        if state.finished == "complete":
            return self._result(state.plan, changed=False)
        if state.finished == "rolled-back":
            raise ReorgError("the last run was rolled back; apply the plan again instead")
        self._clear_stale_locks()
        self._step(state, "branch", lambda: self._enter_branch(state))
        for index, operation in enumerate(state.plan.operations):
            self._step(state, f"op:{index}", partial(self._do, operation), operation)
        self._step(state, "commit", lambda: self._commit(state))
        self.journal.append({"event": "complete"})
        return self._result(state.plan, changed=True)

    def rollback(self) -> None:
        """Put the tree, index and branches back exactly as they were before the run."""
        state = self._open_state()
        if state.finished == "rolled-back":
            return
        if any(r["event"] == "state-migrated" for r in self.journal.current_run()):
            raise ReorgError(
                "stack state already carries the new project names; rename the stacks back "
                "(pulumi stack rename) before rolling the files back"
            )
        self._clear_stale_locks()
        original, branch = state.begin["original_branch"], state.plan.mapping.branch
        on_branch = self._check_rollback_position(state)
        if on_branch:
            self.git.reset_index(state.begin["original_head"])
        before = {
            r["step"]: decode_bytes(r["before"])
            for r in self.journal.current_run()
            if r["event"] == "intent" and "before" in r
        }
        for index in reversed(range(len(state.plan.operations))):
            self._undo(state.plan.operations[index], before.get(f"op:{index}"))
        if on_branch:
            self.git.checkout(original)
        if on_branch or self.git.branch_exists(branch):
            self.git.delete_branch(branch)
        self.journal.append({"event": "rolled-back"})

    # --- what the state migration records -----------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        """Where state checkpoints of this repository's runs are kept (inside ``.git``)."""
        return self.journal.path.parent / "checkpoints"

    def migrated_stacks(self) -> set[str]:
        """The stacks (``org/project/stack``) the current run's state migration moved."""
        return {
            str(r.get("stack"))
            for r in self.journal.current_run()
            if r["event"] == "state-migrated"
        }

    def record_migrated(self, stack: str) -> None:
        """Journal that ``stack``'s state now carries its new project name."""
        if stack not in self.migrated_stacks():
            self.journal.append({"event": "state-migrated", "stack": stack})

    # --- steps --------------------------------------------------------------------------

    def _step(
        self, state: RunState, step: str, action: Callable[[], None], op: object = None
    ) -> None:
        if step in state.done:
            return
        intent = {"event": "intent", "step": step}
        if isinstance(op, Rewrite):
            intent["before"] = encode_bytes(op.before.encode("utf-8", "surrogateescape"))
        if isinstance(op, Move):
            intent |= {"src": op.src, "dst": op.dst}
        self.journal.append(intent)
        self._on_step(f"{step}:intent")
        action()
        self._on_step(f"{step}:acted")
        self.journal.append({"event": "done", "step": step})
        self._on_step(f"{step}:done")

    def _enter_branch(self, state: RunState) -> None:
        branch = state.plan.mapping.branch
        if "branch" not in state.intents:  # first attempt: preflight saw no such branch
            self.git.create_branch(branch)
            return
        if self.git.current_branch() == branch:
            return
        if self.git.branch_exists(branch):
            self.git.checkout(branch)
        else:
            self.git.create_branch(branch)

    def _do(self, operation: Move | Rewrite) -> None:
        if isinstance(operation, Move):
            src, dst = self.repo / operation.src, self.repo / operation.dst
            if dst.exists() and not src.exists():
                return  # moved before a kill, journal not yet told
            if not src.exists() or dst.exists():
                raise ReorgError(f"cannot move {operation.src} to {operation.dst}: tree changed")
            dst.parent.mkdir(parents=True, exist_ok=True)
            self.git.mv(operation.src, operation.dst)
            prune_empty_dirs(src.parent, self.repo)
            return
        path = self.repo / operation.path
        discard_temp(path)
        current = path.read_bytes()
        after = operation.after.encode("utf-8", "surrogateescape")
        if current == after:
            return
        if current != operation.before.encode("utf-8", "surrogateescape"):
            raise ReorgError(f"{operation.path} changed since the plan was made; plan again")
        write_atomically(path, after, durable=self.journal.durable)

    def _undo(self, operation: Move | Rewrite, before: bytes | None) -> None:
        if isinstance(operation, Move):
            src, dst = self.repo / operation.src, self.repo / operation.dst
            if dst.exists() and src.exists():
                raise ReorgError(f"both {operation.src} and {operation.dst} exist; resolve by hand")
            if dst.exists():
                src.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, src)
            prune_empty_dirs(dst.parent, self.repo)
            return
        path = self.repo / operation.path
        discard_temp(path)
        if before is not None and path.exists() and path.read_bytes() != before:
            write_atomically(path, before, durable=self.journal.durable)

    def _commit(self, state: RunState) -> None:
        retried = "commit" in state.intents
        if retried and self.git.rev_parse() != state.begin["original_head"]:
            return  # committed before a kill, journal not yet told
        self.git.commit_all(f"Reorganise Pulumi projects ({state.begin['plan_id'][:12]})")

    # --- checks and results -------------------------------------------------------------

    def _preflight(self, plan: Plan) -> None:
        if not self.git.is_clean():
            raise ReorgError("the working tree has changes: commit or stash them, then apply")
        if self.git.branch_exists(plan.mapping.branch):
            raise ReorgError(f"branch {plan.mapping.branch!r} exists already; pick another")
        # Refuses a tree that is not the planned one.
        apply_to_snapshot(read_snapshot(self.repo, self.git), plan)
        self._refuse_outside_links(plan)
        for op in plan.operations:
            for relative in (op.src, op.dst) if isinstance(op, Move) else (op.path,):
                inside(self.repo, relative)

    def _refuse_outside_links(self, plan: Plan) -> None:
        """A plan made without knowing of a symlink leading outside, in a directory it moves."""
        # A move out of the link's directory or one above it (not the root: a root project
        # takes only its own files) would carry the project away from the link.
        origins = {parent(op.src) for op in plan.operations if isinstance(op, Move)} - {""}
        for link, target in sorted(read_links(self.repo, self.git).items()):
            directory = parent(link)
            if target is None and any(directory == o or is_under(directory, o) for o in origins):
                raise ReorgError(
                    f"{link!r} leads outside the repo, in {directory!r}, which this plan moves; "
                    "plan again: the plan leaves a project holding such a link where it is"
                )

    def _check_rollback_position(self, state: RunState) -> bool:
        """True when on the run's branch; ReorgError where a rollback would lose work."""
        current, head = self.git.head()
        if current == state.begin["original_branch"] and head == state.begin["original_head"]:
            return False
        if current != state.plan.mapping.branch:
            raise ReorgError(f"check out {state.plan.mapping.branch!r} before rolling back")
        ours = head == state.begin["original_head"] or (
            self.git.rev_parse(f"{head}~1") == state.begin["original_head"]
            and state.begin["plan_id"][:12] in self.git.run("log", "-1", "--format=%s", head)
        )
        if not ours:
            raise ReorgError("the reorganisation branch has commits of its own; not rolling back")
        return True

    def _open_state(self) -> RunState:
        state = run_state(self.journal.current_run())
        if state is None:
            raise ReorgError(f"no reorganisation run is journaled in {self.journal.path}")
        return state

    def _clear_stale_locks(self) -> None:
        # A kill inside a git command leaves its lock; no git of ours is running now.
        for name in _LOCKS:
            (self.repo / ".git" / name).unlink(missing_ok=True)

    def _result(self, plan: Plan, *, changed: bool) -> ApplyResult:
        commit = self.git.rev_parse()
        pending = tuple(state_commands(plan)) if plan.renames else ()
        outcome = RunOutcome.STATE_MIGRATION_PENDING if pending else RunOutcome.APPLIED
        branch = plan.mapping.branch
        return ApplyResult(
            outcome,
            branch,
            commit,
            pending,
            changed,
            plan.manual,
            plan.refused,
            len(plan.operations),
        )
