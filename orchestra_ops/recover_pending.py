"""`orchestra-ops recover`, part two: the pending operations killed updates left in stacks.

A ``pulumi up`` killed with its worker leaves pending operations and a lock in the
stack's state, and whatever its creates made in Lambda belongs to no stack. Each
environment's shared then backend stack is settled by the engine
(:class:`~orchestra_ops.ports.stack_engine.SettlesPending`), under the environment's
target lock: a provisioning run in progress owns its pending operations. Each stack's
secrets key is checked first: a passphrase that does not open it would fail every later
update, even with nothing pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_ops.adapters.target_lock import idle_target
from orchestra_ops.domain.provisioning import stacks_target
from orchestra_ops.errors import Conflict, OpsError, StackNotFound, ToolMissing
from orchestra_ops.ports.stack_engine import SettlesPending
from orchestra_ops.provisioning_rollback import scratch_project
from orchestra_ops.wiring import Clients

#: The status of a check that could not be done (see orchestra_ops.recover).
UNCHECKED = "unchecked"


def why_unchecked(error: Exception) -> str:
    """Why a check could not run, in one line (OpsError messages are written to be safe;
    a missing tool's says how to install it)."""
    if isinstance(error, ToolMissing):
        return str(error)
    return f"{type(error).__name__}: {error}"


STACK_PROJECTS = ("shared", "backend")  # the order matters: the backend reads the shared one


@dataclass
class PendingCheck:
    """One stack's pending operations: what settling them did (or would do), or why not."""

    stack: str
    status: str = "checked"  # checked | skipped | unchecked (could not be settled)
    lines: list[str] = field(default_factory=list)
    note: str = ""
    left_open: bool = False  # a dry run found some

    @property
    def project(self) -> str:
        """``backend`` of ``backend/dev``."""
        return self.stack.partition("/")[0]

    @property
    def environment(self) -> str:
        """``dev`` of ``backend/dev``."""
        return self.stack.partition("/")[2]

    @property
    def clean(self) -> bool:
        """True when it was settled (or deliberately skipped) and nothing was left in place."""
        return self.status != UNCHECKED and not self.left_open


def settle_pending(
    clients: Clients, infrastructure_dir: Path, envs: Sequence[str], *, dry_run: bool
) -> list[PendingCheck]:
    """Settle the pending operations killed updates left in each environment's stacks.

    An environment whose stacks a provisioning run holds is skipped: their pending
    operations are that run's own.
    """
    names = [f"{p}/{e}" for e in envs for p in STACK_PROJECTS]
    try:
        engine = clients.stack_engine()
    except OpsError as error:  # ToolMissing among them: no Pulumi CLI
        return [PendingCheck(n, UNCHECKED, note=why_unchecked(error)) for n in names]
    if not isinstance(engine, SettlesPending):
        why = "the stack engine leaves no pending operations to settle"
        return [PendingCheck(n, "skipped", note=why) for n in names]
    checks: list[PendingCheck] = []
    state_dir = clients.settings.runtime.state_dir
    for environment in envs:
        try:
            with idle_target(state_dir, stacks_target(environment), dry_run=dry_run):
                for project in STACK_PROJECTS:
                    checks.append(
                        _settle_stack(engine, infrastructure_dir / project, environment, dry_run)
                    )
        except Conflict:
            why = f"a provisioning run of {environment} is in progress; not touched"
            done = {c.stack for c in checks}
            checks += [
                PendingCheck(f"{p}/{environment}", "skipped", note=why)
                for p in STACK_PROJECTS
                if f"{p}/{environment}" not in done
            ]
    return checks


def _settle_stack(
    engine: SettlesPending, project_dir: Path, environment: str, dry_run: bool
) -> PendingCheck:
    check = PendingCheck(f"{project_dir.name}/{environment}")
    try:  # through a scratch copy: selecting a stack may write its stack file
        with scratch_project(project_dir) as project:
            ref = engine.select(project, environment)
            engine.check_secrets_key(ref)
            settled = engine.settle_pending(ref, dry_run=dry_run)
        check.lines, check.left_open = settled.done, dry_run and settled.found > 0
    except StackNotFound:
        check.note = "no such stack yet: nothing pending"
    except (OpsError, ValueError) as error:
        check.status, check.note = UNCHECKED, f"{type(error).__name__}: {error}"
    return check
