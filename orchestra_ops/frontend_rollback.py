"""Undoing a frontend migration: the compensators of its saga, over the ports.

A migration journals three kinds of step (``orchestra_ops.saga``): the config files it
writes into the repo (``files-restore``), the project env it changes
(``vercel-env-restore``, the snapshot encrypted in the backup store) and the promotion
(``vercel-rollback``, the pivot). In-process, a failed run compensates them all. After
a crash, :func:`settle` decides for the saga as a whole: a promoted release that passes
its own production gate is kept with its env and config; anything else is undone.
Plain functions; no Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.adapters.files import restore_texts
from orchestra_ops.domain.frontend.gate import api_checks, index_check
from orchestra_ops.domain.health import GateState, HealthPolicy
from orchestra_ops.domain.vercel import DeploymentId, EnvVar, ProjectId
from orchestra_ops.errors import OpsError, is_transient
from orchestra_ops.health_gate import run_checks
from orchestra_ops.ledger import Closure, Compensator, Decision, Intent, ReconcileReport
from orchestra_ops.ports.prober import Prober
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.saga import Saga

SAGA_PREFIX = "frontend:"
FILES_ACTION = "files-restore"
ENV_ACTION = "vercel-env-restore"
PROMOTE_ACTION = "vercel-rollback"
PROMOTE_STEP = "promote"

ReleaseProbe = Callable[[Intent], bool]
"""Given a promote intent, tells whether production passes the run's own gate now."""
#: After a crash no flow parameters are at hand: a short, strict gate decides.
RECOVERY_POLICY = HealthPolicy(consecutive=3, interval_s=0.5, budget_s=30, fail_fast_after=3)


class FirstReleaseServes(OpsError):
    """A project's first production release failed: there is nothing to roll back to."""


def saga_id(project_id: str, run_id: str) -> str:
    """The saga of one migration run of one project."""
    return f"{SAGA_PREFIX}{project_id}:{run_id}"


def restore_env(
    vercel: VercelApi, project_id: ProjectId, snapshot: list[EnvVar], keys: list[str]
) -> list[str]:
    """Put ``keys`` back as in ``snapshot``; returns the keys that cannot be restored.

    Variables the run added are deleted; changed ones get their old value back. A
    sensitive value is never revealed by Vercel, so it cannot be restored.
    """
    before = {(v.key, t) for v in snapshot for t in v.targets}
    for var in vercel.list_env(project_id, decrypt=True):
        if var.key not in keys or var.id is None:
            continue
        if not any((var.key, t) in before for t in var.targets):
            vercel.delete_env(project_id, var.id)
    back = [v for v in snapshot if v.key in keys and v.value is not None]
    if back:
        vercel.upsert_env(project_id, back)
    return sorted({v.key for v in snapshot if v.key in keys and v.value is None})


def undo_promotion(vercel: VercelApi, intent: Intent) -> Decision:
    """Point production back at the deployment it served before; idempotent."""
    project_id = ProjectId(str(intent.target["project_id"]))
    promoted = intent.target["deployment_id"]
    previous = intent.undo.get("previous_id")
    serving = vercel.get_project(project_id).production_deployment_id
    if serving != promoted:
        return Decision(
            Closure.COMPENSATED,
            f"production already serves {serving}, not {promoted} (rolled back, or moved on)",
            changed=False,
        )
    if previous is None:
        raise FirstReleaseServes(
            f"{promoted} is the project's first production release: Vercel cannot take a "
            "release out of production and there is nothing earlier to return to; promote a "
            "fixed release (or remove the production domain)"
        )
    vercel.rollback(project_id, DeploymentId(str(previous)), "orchestra-ops rollback")
    return Decision(Closure.COMPENSATED, f"production rolled back to {previous}")


@dataclass(frozen=True)
class Undone:
    """One step a failed run undid: ``changed`` is False when it found nothing to undo."""

    step: str
    outcome: str
    detail: str
    changed: bool

    def line(self) -> str:
        """``promote: compensated (production rolled back to dpl_1)``."""
        return f"{self.step}: {self.outcome} ({self.detail})"


def target_of(saga: Saga) -> str:
    """The Vercel project id a frontend saga changed (its lock's target)."""
    return saga.id.removeprefix(SAGA_PREFIX).split(":", 1)[0]


def compensators(vercel: VercelApi, backups: BackupStore) -> dict[str, Compensator]:
    """The compensator of each frontend undo action."""

    def env(intent: Intent) -> Decision:
        snapshot = backups.env(str(intent.undo["backup"]))
        keys = [str(k) for k in intent.target["keys"]]
        lost = restore_env(vercel, ProjectId(str(intent.target["project_id"])), snapshot, keys)
        detail = f"env restored ({len(keys)} keys)"
        if lost:
            detail += f"; sensitive, so not restorable: {', '.join(lost)}"
        return Decision(Closure.COMPENSATED, detail)

    def files(intent: Intent) -> Decision:
        originals = backups.files(str(intent.undo["backup"]))
        restore_texts(Path(str(intent.target["dir"])), originals)
        return Decision(Closure.COMPENSATED, f"config files restored: {sorted(originals)}")

    return {
        ENV_ACTION: env,
        FILES_ACTION: files,
        PROMOTE_ACTION: lambda intent: undo_promotion(vercel, intent),
    }


def decide(saga: Saga, vercel: VercelApi, healthy: ReleaseProbe | None) -> str | None:
    """Read-only: why a crashed run's saga is kept, or None when it must be undone.

    It is kept only when the run crashed (every step still open: a run that failed and
    began undoing is finished off, never adopted), production serves its promoted release,
    and that release passes the gate the run recorded.
    """
    promote = next((i for i in saga.open_intents() if i.step == PROMOTE_STEP), None)
    if promote is None or healthy is None or saga.undo_decided():
        return None
    project = vercel.get_project(str(promote.target["project_id"]))
    serving = project.production_deployment_id
    if serving == promote.target["deployment_id"] and healthy(promote):
        return f"{serving} passed its production gate after the crash: kept"
    return None


def settle(
    saga: Saga, vercel: VercelApi, backups: BackupStore, healthy: ReleaseProbe | None
) -> ReconcileReport:
    """A crashed run's saga: adopted when :func:`decide` keeps it, else compensated.

    When the decision itself fails (the API is down, the project is gone), every intent
    stays open and the report says why.
    """
    try:
        kept = decide(saga, vercel, healthy)
    except Exception as error:  # isolated: the other sagas still get their turn
        why = f"{type(error).__name__}: {error}"
        return ReconcileReport(
            failed=[(i, why) for i in saga.open_intents()], transient=is_transient(error)
        )
    report = saga.adopt(kept) if kept else saga.compensate(compensators(vercel, backups))
    if report.clean:
        backups.discard(saga.id)
    return report


def gate_record(
    url: str,
    fingerprint: str | None,
    api_prefixes: tuple[str, ...],
    api_probe: str | None,
    site_path: str = "",
) -> dict[str, object]:
    """What a promote intent keeps of the run's production gate, for recovery.

    ``site_path``: where the release serves its index (a Next.js ``basePath``)."""
    return {
        "url": url,
        "fingerprint": fingerprint,
        "api_prefixes": list(api_prefixes),
        "api_probe": api_probe,
        "site_path": site_path,
    }


def release_probe(prober: Prober, policy: HealthPolicy = RECOVERY_POLICY) -> ReleaseProbe:
    """Probe production with the gate the crashed run recorded in its promote intent."""

    def healthy(intent: Intent) -> bool:
        gate = intent.target.get("gate")
        if not isinstance(gate, dict) or not isinstance(gate.get("url"), str):
            return False  # an intent without its gate cannot be judged: undo it
        fingerprint = gate.get("fingerprint")
        probe = gate.get("api_probe")
        site_path = gate.get("site_path") or ""  # older intents: the site's root
        checks = [index_check(gate["url"], policy, fingerprint, site_path)]
        checks += api_checks(
            gate["url"], policy, tuple(gate.get("api_prefixes") or ()), probe, fingerprint
        )
        done = run_checks(prober, checks)
        return len(done) == len(checks) and all(p.state is GateState.PASSED for _, p in done)

    return healthy
