"""`orchestra-ops recover`: close what crashed runs left open, and find orphaned API instances.

A crashed run leaves its saga's intents open in the ledger (``orchestra_ops.saga``), may
leave pending operations and a lock in a stack's state (a killed ``pulumi up``), and may
leave Lambda API instances that no backend stack lists. Recovery settles each open saga
as the next run of its target would (a frontend release is kept only when it passes the
production gate its run recorded; otherwise env, config files and production are
restored; each step isolated, failures left open), settles each stack's pending
operations against the Lambda API (adopting what their creates made, terminating what no
resource will own), then lists live ``role=api`` instances that their environment's
backend stack neither lists nor holds, terminating them when asked. Plain functions over
the ports; no Prefect needed.

Every check ends ``checked``, ``skipped`` (deliberately not judged: a run of the target is
in progress, or not asked) or ``unchecked`` (it could not be done: no Pulumi CLI, an API
or the Prefect server unreachable, an unreadable stack). What could not be checked is
never reported as clean, nor as something found open: :meth:`RecoveryReport.exit_code`
tells the three apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestra_ops import frontend_rollback, provisioning_rollback
from orchestra_ops.adapters import prefect_runs
from orchestra_ops.adapters.prefect_runs import StuckRun
from orchestra_ops.adapters.target_lock import idle_target
from orchestra_ops.domain.health import HealthPolicy
from orchestra_ops.domain.provisioning import ENVIRONMENTS, stacks_target
from orchestra_ops.errors import ConfigError, Conflict, OpsError
from orchestra_ops.frontend_rollback import ReleaseProbe
from orchestra_ops.ledger import Closure, Ledger, ReconcileReport
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.recover_orphans import OrphanCheck, check_orphans
from orchestra_ops.recover_pending import UNCHECKED, PendingCheck, settle_pending
from orchestra_ops.saga import Saga, open_sagas
from orchestra_ops.wiring import Clients

#: Exit codes of `orchestra-ops recover` (2 is a configuration error, from the CLI).
EXIT_CLEAN, EXIT_OPEN, EXIT_UNCHECKED = 0, 1, 3


# --- intents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentResult:
    """One open intent after recovery: ``state`` is an outcome, ``open`` or ``would ...``."""

    key: str
    action: str
    state: str
    detail: str


def _results(report: ReconcileReport) -> list[IntentResult]:
    done = [IntentResult(i.key, i.action, d.outcome.value, d.detail) for i, d in report.closed]
    return done + [IntentResult(i.key, i.action, "open", why) for i, why in report.failed]


def _preview(saga: Saga, vercel: VercelApi, healthy: ReleaseProbe) -> list[IntentResult]:
    """What settling ``saga`` would do, changing nothing."""
    try:
        kept = frontend_rollback.decide(saga, vercel, healthy)
    except Exception as error:  # isolated, as in a real run
        why = f"{type(error).__name__}: {error}"
        return [IntentResult(i.key, i.action, "open", why) for i in saga.open_intents()]
    state, detail = ("would be adopted", kept) if kept else ("would be compensated", "undone")
    return [IntentResult(i.key, i.action, state, detail or "") for i in saga.open_intents()]


def _lock_of(saga: Saga) -> tuple[str, str] | None:
    """The target lock a run of this saga holds while it runs (see tasks/serialise.py)."""
    if saga.id.startswith(frontend_rollback.SAGA_PREFIX):
        return "vercel-project", frontend_rollback.target_of(saga)
    if saga.id.startswith(provisioning_rollback.SAGA_PREFIX):
        return stacks_target(provisioning_rollback.environment_of(saga))
    return None


_would_undo = {
    provisioning_rollback.ROLLOUT_ACTION: "the abandoned colour would be terminated and the "
    "state restored",
    provisioning_rollback.PREVIEW_ACTION: "the stacks a dry run made for its preview would be "
    "removed while still empty, and the stack files it changed restored",
}


def reconcile_intents(
    ledger: Ledger,
    clients: Clients,
    healthy: ReleaseProbe,
    *,
    dry_run: bool,
    infra: Path | None,
    environments: Sequence[str] = ENVIRONMENTS,
) -> list[IntentResult]:
    """Settle every saga a crashed run left open; in a dry run, say what would happen.

    A saga whose target is locked belongs to a run still in progress: it is left alone; so
    is a provisioning saga of an environment not among ``environments``. ``infra`` holds
    the projects to copy (read only) when a run's own are gone.
    """
    results: list[IntentResult] = []
    state_dir = clients.settings.runtime.state_dir
    for saga in open_sagas(ledger):
        if saga.id.startswith(provisioning_rollback.SAGA_PREFIX):
            if provisioning_rollback.environment_of(saga) not in environments:
                continue
        try:
            with idle_target(state_dir, _lock_of(saga), dry_run=dry_run):
                results += _settle(saga, clients, healthy, dry_run, infra)
        except Conflict as busy:
            why = f"a run of this target is in progress ({busy}); not touched"
            results += [IntentResult(i.key, i.action, "open", why) for i in saga.open_intents()]
        except ConfigError as missing:  # e.g. no credential for this saga's cloud here
            why = f"cannot be settled with these settings: {missing}"
            results += [IntentResult(i.key, i.action, "open", why) for i in saga.open_intents()]
    return results


def _settle(
    saga: Saga, clients: Clients, healthy: ReleaseProbe, dry_run: bool, infra: Path | None
) -> list[IntentResult]:
    intents = saga.open_intents()
    if saga.id.startswith(frontend_rollback.SAGA_PREFIX):
        if dry_run:
            return _preview(saga, clients.vercel(), healthy)
        settled = frontend_rollback.settle(saga, clients.vercel(), clients.backups(), healthy)
        return _results(settled)
    if saga.id.startswith(provisioning_rollback.SAGA_PREFIX):
        if dry_run:
            return [
                IntentResult(i.key, i.action, "would be compensated", _would_undo.get(i.action, ""))
                for i in intents
            ]
        backend, owner = infra / "backend" if infra else None, clients.state_owner()
        undo = provisioning_rollback.compensators(
            clients.lambda_cloud, clients.stack_engine, clients.backups(), owner, backend
        )
        return _results(saga.compensate(undo))
    why = "no compensator for this kind of run"
    return [IntentResult(i.key, i.action, "open", why) for i in intents]


# --- runs left RUNNING by a dead process ------------------------------------------------

#: A RUNNING run without a heartbeat for this long has lost its process.
STUCK_AFTER_S = 300.0


@dataclass
class RunCheck:
    """Flow runs left RUNNING by a dead process: found, marked crashed, or not checked."""

    status: str = "checked"  # checked | skipped | unchecked
    stuck: list[StuckRun] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def open(self) -> bool:
        """True while a stuck run found is still RUNNING."""
        return not {r.id for r in self.stuck} <= set(self.marked)


def check_runs(silence_s: float, *, mark: bool, dry_run: bool) -> RunCheck:
    """Stuck runs on the Prefect server; marked CRASHED when asked (and not a dry run)."""
    if not prefect_runs.server_configured():
        why = "no Prefect server to ask (PREFECT_API_URL is unset; --no-runs skips this check)"
        return RunCheck(UNCHECKED, note=why)
    try:
        check = RunCheck(stuck=prefect_runs.stuck_runs(silence_s))
        if mark and not dry_run:
            for run in check.stuck:
                prefect_runs.mark_crashed(run.id, f"no heartbeat for {silence_s:.0f} s")
                check.marked.append(run.id)
    except Exception as error:  # the server is down or refused: say so, never "clean"
        return RunCheck(UNCHECKED, note=prefect_runs.server_said(error))
    return check


# --- the whole recovery -----------------------------------------------------------------


@dataclass
class RecoveryReport:
    """What recovery found and did."""

    dry_run: bool
    intents: list[IntentResult]
    orphans: list[OrphanCheck]
    runs: RunCheck = field(default_factory=lambda: RunCheck("skipped", note="not asked"))
    pending: list[PendingCheck] = field(default_factory=list)

    def left_open(self) -> list[str]:
        """What was found open: intents, pending operations, orphans, stuck runs."""
        closed = {o.value for o in Closure}
        found = [f"intent {r.key}" for r in self.intents if r.state not in closed]
        found += [f"pending operations in {c.stack}" for c in self.pending if c.left_open]
        found += [f"orphans in {c.environment}" for c in self.orphans if c.open]
        return found + (["stuck flow runs"] if self.runs.open else [])

    def unchecked(self) -> list[tuple[str, str, str]]:
        """What could not be checked, as (kind, where, why) (errors are written safe)."""
        pending = "pending operations"
        missed = [(pending, c.stack, c.note) for c in self.pending if c.status == UNCHECKED]
        orphans = [c for c in self.orphans if c.status == UNCHECKED]
        missed += [("orphans", c.environment, c.note) for c in orphans]
        if self.runs.status == UNCHECKED:
            missed.append(("stuck flow runs", "", self.runs.note))
        return missed

    @property
    def clean(self) -> bool:
        """True when everything was checked and nothing is left open."""
        return not self.left_open() and not self.unchecked()

    @property
    def exit_code(self) -> int:
        """EXIT_OPEN when something is left open, else EXIT_UNCHECKED when something could
        not be checked, else EXIT_CLEAN."""
        if self.left_open():
            return EXIT_OPEN
        return EXIT_UNCHECKED if self.unchecked() else EXIT_CLEAN

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "clean": self.clean,
            "exit_code": self.exit_code,
            "left_open": self.left_open(),
            "unchecked": [{"what": k, "where": w, "why": y} for k, w, y in self.unchecked()],
            "dry_run": self.dry_run,
            "intents": [vars(r) for r in self.intents],
            "pending": [vars(c) for c in self.pending],
            "orphans": [
                {
                    "environment": c.environment,
                    "status": c.status,
                    "orphans": [
                        {"id": o.id, "name": o.name, "tags": {t.key: t.value for t in o.tags}}
                        for o in c.orphans
                    ],
                    "terminated": c.terminated,
                    "note": c.note,
                }
                for c in self.orphans
            ],
            "runs": {
                "status": self.runs.status,
                "stuck": [vars(r) for r in self.runs.stuck],
                "marked_crashed": self.runs.marked,
                "note": self.runs.note,
            },
        }


def _refuse_misconfigured_engine(clients: Clients) -> None:
    """Raise the ConfigError of a stack engine that cannot be built (an unimportable
    ORCHESTRA_STACK_ENGINE), before anything is changed: a configuration error, not a
    check that could not be done. A missing Pulumi CLI or a lost passphrase file is left to
    each stack check to say: the other checks still run."""
    try:
        clients.stack_engine()
    except ConfigError as error:
        if error.source == "ORCHESTRA_STACK_ENGINE":
            raise
    except OpsError:
        pass


def recover(
    clients: Clients,
    infrastructure_dir: Path,
    environments: Sequence[str] = ENVIRONMENTS,
    *,
    terminate_orphans: bool = False,
    dry_run: bool = False,
    runs: bool = True,
    mark_crashed: bool = False,
    stuck_after_s: float = STUCK_AFTER_S,
    policy: HealthPolicy = frontend_rollback.RECOVERY_POLICY,
) -> RecoveryReport:
    """Settle the state directory's open sagas, check each environment for orphans, and
    (``runs``) list flow runs a dead process left RUNNING, marking them crashed if asked.
    The caller (an entry point) builds ``clients`` and closes them."""
    _refuse_misconfigured_engine(clients)
    intents = reconcile_intents(
        clients.ledger(),
        clients,
        frontend_rollback.release_probe(clients.prober(), policy),
        dry_run=dry_run,
        infra=infrastructure_dir,
        environments=environments,
    )
    pending = settle_pending(clients, infrastructure_dir, environments, dry_run=dry_run)
    orphans = check_orphans(
        clients,
        infrastructure_dir / "backend",
        environments,
        terminate=terminate_orphans,
        dry_run=dry_run,
        unsettled={c.environment: c for c in pending if c.project == "backend" and not c.clean},
    )
    stuck = (
        check_runs(stuck_after_s, mark=mark_crashed, dry_run=dry_run)
        if runs
        else RunCheck("skipped", note="not asked (--no-runs)")
    )
    return RecoveryReport(dry_run, intents, orphans, stuck, pending)
