"""`orchestra-ops recover`: close what crashed runs left open, and find orphaned API instances.

A crashed run leaves intents open in the ledger (``orchestra_ops.ledger``) and may leave
Lambda API instances that no backend stack lists. Recovery hands each open intent to the
compensator of its undo action (isolated: one failing leaves the others their turn), then
lists live ``role=api`` instances that their environment's backend stack does not list,
terminating them when asked. Plain functions over the ports; no Prefect needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.health import HttpProber, wait_healthy
from orchestra_ops.domain.health import GateState, HealthPolicy
from orchestra_ops.domain.lambda_cloud import Instance
from orchestra_ops.domain.provisioning import StackColours, live_instances_of
from orchestra_ops.domain.vercel import DeploymentId
from orchestra_ops.errors import OpsError, ToolMissing
from orchestra_ops.ledger import Compensator, Intent, Ledger, Outcome, reconcile
from orchestra_ops.ports.stack_engine import StackOutput
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.settings import Settings
from orchestra_ops.wiring import Clients, build

ENVIRONMENTS = ("dev", "prod")
PROMOTE_ACTION = "vercel-rollback"
# Recovery has no flow parameters: a short, strict gate decides whether to keep a release.
PRODUCTION_POLICY = HealthPolicy(consecutive=3, interval_s=0.5, budget_s=30, fail_fast_after=3)
ProductionProbe = Callable[[str], bool]
"""Given a Vercel project name, tells whether its production URL is healthy."""


def ledger_for(state_dir: Path) -> Ledger:
    """The ledger of a state directory."""
    return Ledger(state_dir / "ledger.jsonl")


# --- the Vercel promotion ---------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What a compensator does (or would do) with one intent, and why."""

    outcome: Outcome
    detail: str


def decide_promote(
    vercel: VercelApi, intent: Intent, healthy: ProductionProbe | None = None
) -> Decision:
    """Read-only: undo an unverified promotion, or keep it (moved on, nothing earlier, healthy)."""
    project = vercel.get_project(str(intent.target["project_id"]))
    promoted = intent.target["deployment_id"]
    previous = intent.undo.get("previous_id")
    serving = project.production_deployment_id
    if serving != promoted:
        return Decision(Outcome.ADOPTED, f"production serves {serving}, not {promoted}")
    if previous is None:
        return Decision(Outcome.ADOPTED, "no earlier production deployment to return to")
    if healthy is not None and healthy(project.name):
        return Decision(Outcome.ADOPTED, f"{promoted} is healthy in production: kept")
    return Decision(Outcome.COMPENSATED, f"production rolled back to {previous}")


def compensate_promote(
    vercel: VercelApi, intent: Intent, healthy: ProductionProbe | None = None
) -> Decision:
    """Carry out :func:`decide_promote`: roll production back when it says so. Idempotent."""
    decision = decide_promote(vercel, intent, healthy)
    if decision.outcome is Outcome.COMPENSATED:
        previous = DeploymentId(str(intent.undo["previous_id"]))
        vercel.rollback(str(intent.target["project_id"]), previous, "orchestra-ops recovery")
    return decision


def production_probe(edge_url: str | None, policy: HealthPolicy) -> ProductionProbe:
    """Probe ``https://<project>.vercel.app`` (through ``edge_url`` when set) with ``policy``."""

    def healthy(project_name: str) -> bool:
        prober = HttpProber(edge_url=edge_url)
        try:
            progress = wait_healthy(prober, f"https://{project_name}.vercel.app", policy)
        finally:
            prober.close()
        return progress.state is GateState.PASSED

    return healthy


# --- intents ----------------------------------------------------------------------------

Handler = Callable[[Intent], Decision]
"""Decides (in a dry run) or carries out (otherwise) the compensation of one intent."""


@dataclass(frozen=True)
class IntentResult:
    """One open intent after recovery: ``state`` is an outcome, ``open`` or ``would ...``."""

    key: str
    action: str
    state: str
    detail: str


def reconcile_intents(
    ledger: Ledger, handlers: Mapping[str, Handler], *, dry_run: bool
) -> list[IntentResult]:
    """Reconcile every open intent; in a dry run only say what each compensator would do."""
    details: dict[str, str] = {}

    def compensator(handle: Handler) -> Compensator:
        def run(intent: Intent) -> Outcome:
            decision = handle(intent)
            details[intent.key] = decision.detail
            return decision.outcome

        return run

    if dry_run:
        return [_preview(intent, handlers.get(intent.action)) for intent in ledger.open_intents()]
    report = reconcile(ledger, {a: compensator(h) for a, h in handlers.items()})
    done = [IntentResult(i.key, i.action, o.value, details[i.key]) for i, o in report.closed]
    return done + [IntentResult(i.key, i.action, "open", why) for i, why in report.failed]


def _preview(intent: Intent, handle: Handler | None) -> IntentResult:
    if handle is None:
        return IntentResult(
            intent.key, intent.action, "open", f"no compensator for action {intent.action!r}"
        )
    try:
        decision = handle(intent)
    except Exception as error:  # isolated, as in a real run
        return IntentResult(intent.key, intent.action, "open", f"{type(error).__name__}: {error}")
    return IntentResult(intent.key, intent.action, f"would be {decision.outcome}", decision.detail)


# --- orphaned instances -----------------------------------------------------------------


@dataclass
class OrphanCheck:
    """One environment: orphans found and terminated, or why the check did not run."""

    environment: str
    status: str = "checked"  # checked | skipped | failed
    orphans: list[Instance] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def clean(self) -> bool:
        """True unless it failed or an orphan is still running."""
        return self.status != "failed" and {o.id for o in self.orphans} <= set(self.terminated)


def stack_instance_ids(outputs: Mapping[str, StackOutput]) -> set[str]:
    """Every instance id the backend stack lists, in any colour (ValueError when malformed)."""
    values = {name: output.value for name, output in outputs.items()}
    colours = StackColours.from_outputs(values)
    listed = {instance.id for group in colours.instances.values() for instance in group}
    active = values.get("instance_ids")
    if isinstance(active, list):
        listed.update(str(i) for i in active)
    return listed


def find_orphans(
    instances: Iterable[Instance], environment: str, listed: set[str]
) -> list[Instance]:
    """Live API instances of ``environment`` that the stack does not list."""
    return [i for i in live_instances_of(instances, environment) if i.id not in listed]


def check_orphans(
    clients: Clients,
    backend_dir: Path,
    envs: Sequence[str],
    *,
    terminate: bool,
    dry_run: bool,
) -> list[OrphanCheck]:
    """Find (and terminate, when asked and not a dry run) each environment's orphans.

    Not meant to run next to a provisioning run: an instance its stack update has launched
    but not yet recorded looks like an orphan.
    """
    try:
        engine = clients.stack_engine()
        # Listed before any stack is read, so an instance launched meanwhile is not judged.
        instances = clients.lambda_cloud().list_instances()
    except ToolMissing as error:
        return [OrphanCheck(e, "skipped", note=f"orphan check skipped: {error}") for e in envs]
    except OpsError as error:
        return [OrphanCheck(e, "failed", note=f"{type(error).__name__}: {error}") for e in envs]
    checks = []
    for environment in envs:
        check = OrphanCheck(environment)
        try:
            ref = engine.select_or_create(backend_dir, environment)
            check.orphans = find_orphans(
                instances, environment, stack_instance_ids(engine.outputs(ref))
            )
            if terminate and check.orphans and not dry_run:
                gone = clients.lambda_cloud().terminate([o.id for o in check.orphans])
                check.terminated = [str(i.id) for i in gone]
        except ToolMissing as error:
            check.status, check.note = "skipped", f"orphan check skipped: {error}"
        except (OpsError, ValueError) as error:  # unreadable stack: nothing is an orphan then
            check.status, check.note = "failed", f"{type(error).__name__}: {error}"
        checks.append(check)
    return checks


# --- the whole recovery -----------------------------------------------------------------


@dataclass
class RecoveryReport:
    """What recovery found and did."""

    dry_run: bool
    intents: list[IntentResult]
    orphans: list[OrphanCheck]

    @property
    def clean(self) -> bool:
        """True when no intent is left open and no orphan is left running."""
        closed = {o.value for o in Outcome}
        return all(r.state in closed for r in self.intents) and all(c.clean for c in self.orphans)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "clean": self.clean,
            "dry_run": self.dry_run,
            "intents": [vars(r) for r in self.intents],
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
        }


def recover(
    settings: Settings,
    infrastructure_dir: Path,
    environments: Sequence[str] = ENVIRONMENTS,
    *,
    terminate_orphans: bool = False,
    dry_run: bool = False,
    policy: HealthPolicy = PRODUCTION_POLICY,
) -> RecoveryReport:
    """Reconcile the state directory's ledger, then check each environment for orphans."""
    probe = production_probe(settings.vercel.edge_url, policy)
    with build(settings) as clients:

        def promotion(intent: Intent) -> Decision:
            act = decide_promote if dry_run else compensate_promote
            return act(clients.vercel(), intent, probe)

        intents = reconcile_intents(
            ledger_for(settings.runtime.state_dir), {PROMOTE_ACTION: promotion}, dry_run=dry_run
        )
        orphans = check_orphans(
            clients,
            infrastructure_dir / "backend",
            environments,
            terminate=terminate_orphans,
            dry_run=dry_run,
        )
    return RecoveryReport(dry_run, intents, orphans)
