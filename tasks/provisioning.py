"""Tasks of Lambda provisioning: stack operations, the request checks, health, verification.

Each task builds its own engine and clients from settings (a task may run in another
thread or process). Stack outputs marked secret never leave these tasks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from orchestra_ops import provisioning_rollback as undo
from orchestra_ops.adapters.files import write_atomically
from orchestra_ops.domain.health import GateState, HealthPolicy, describe
from orchestra_ops.domain.lambda_cloud import GONE, InstanceId
from orchestra_ops.domain.placement import check_cost_ceiling, hourly_cost, plan_attempts
from orchestra_ops.domain.progress import stack_percent
from orchestra_ops.domain.provisioning import (
    ApiInstance,
    Lease,
    health_url,
    live_instances_of,
)
from orchestra_ops.domain.stack_config import BackendConfig
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import (
    HealthCheckFailed,
    InsufficientCapacity,
    OpsError,
    StackError,
    StackNotFound,
)
from orchestra_ops.health_gate import wait_healthy
from orchestra_ops.ledger import Closure
from orchestra_ops.ports.stack_engine import (
    Checkpoint,
    StackEngine,
    StackEvent,
    StackOutput,
    StackRef,
)
from orchestra_ops.saga import Saga, open_sagas
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.policy import artifact_key, cloud_task, local_task, run_logger
from tasks.progress import Progress
from tasks.run_names import named


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return run_logger("orchestra_ops.provisioning")


# --- the request ------------------------------------------------------------------------


@named("check_programs[{project_dirs:names}]")
@local_task
def check_programs(project_dirs: Sequence[Path]) -> None:
    """Refuse, before any stack is touched, a project that does not run our program, or a
    state whose owner id cannot be read (what it launches must carry it)."""
    for_process(load_settings()).check_stack_projects(project_dirs)


@dataclass(frozen=True)
class Placement:
    """Where the launch will be tried and what it costs at most."""

    attempts: tuple[str, ...]
    skipped: tuple[str, ...]
    worst_usd_per_hour: Decimal


@named("check_request[{cfg.instance_type} x{cfg.count}]")
@cloud_task
def check_request(cfg: BackendConfig, ceiling_usd_per_hour: float) -> Placement:
    """Refuse a request no listed capacity can serve, or one above the cost ceiling."""
    offers = for_process(load_settings()).lambda_cloud().instance_types()
    plan = plan_attempts(offers, [cfg.instance_type, *cfg.fallback_instance_types], cfg.regions)
    if not plan.attempts:
        raise InsufficientCapacity(
            f"no capacity listed for {cfg.instance_type} (or its fallbacks) in "
            f"{', '.join(cfg.regions)}: {'; '.join(plan.skipped)}",
            region=cfg.regions[0],
            instance_type=cfg.instance_type,
        )
    # The dearest type the attempts may land on bounds the cost.
    dearest = max(
        {a.instance_type for a in plan.attempts},
        key=lambda name: offers[name].instance_type.price_cents_per_hour,
    )
    check_cost_ceiling(offers[dearest], cfg.count, Decimal(str(ceiling_usd_per_hour)))
    return Placement(
        tuple(f"{a.instance_type} in {a.region}" for a in plan.attempts),
        plan.skipped,
        hourly_cost(offers[dearest], cfg.count),
    )


# --- stack operations -------------------------------------------------------------------


def _engine(project_dir: Path, stack: str) -> tuple[StackEngine, StackRef]:
    engine = for_process(load_settings()).stack_engine()
    return engine, engine.select_or_create(project_dir, stack)


def _stream(event: StackEvent) -> None:
    if event.kind in ("resource-pre", "resource-failed", "diagnostic", "summary"):
        _log().info("engine: %s", event.message)


def _counted(event: StackEvent) -> bool:
    """A step the preview's change summary counts: not a provider, not a read."""
    return event.op != "read" and "::pulumi:providers:" not in (event.urn or "")


def _public(outputs: Mapping[str, StackOutput]) -> dict[str, object]:
    return {name: output.value for name, output in outputs.items() if not output.secret}


@named("stack_outputs[{project_dir:name}/{stack}]")
@local_task
def stack_outputs(project_dir: Path, stack: str) -> dict[str, object]:
    """The stack's current outputs (secret ones left out)."""
    engine, ref = _engine(project_dir, stack)
    return _public(engine.outputs(ref))


@named("stacks_to_create[{stack}]")
@local_task
def stacks_to_create(project_dirs: Sequence[Path], stack: str) -> list[Path]:
    """The projects among ``project_dirs`` with no ``stack`` yet (nothing is created)."""
    engine = for_process(load_settings()).stack_engine()
    missing = []
    for project_dir in project_dirs:
        try:
            engine.select(project_dir, stack)
        except StackNotFound:
            missing.append(project_dir)
    return missing


@named("configure[{project_dir:name}/{stack}]")
@local_task
def configure(project_dir: Path, stack: str, values: Mapping[str, str]) -> None:
    """Set plain (not secret) config values of the stack, each namespaced by the project."""
    engine, ref = _engine(project_dir, stack)
    path = project_dir / "Pulumi.yaml"
    project = load_yaml(path.read_text(encoding="utf-8"), str(path), typ="safe")["name"]
    engine.set_config(ref, {f"{project}:{key}": value for key, value in values.items()})


@named("preview_stack[{project_dir:name}/{stack}]")
@local_task
def preview_stack(project_dir: Path, stack: str, title: str) -> dict[str, int]:
    """Preview an update; the change summary becomes an artifact."""
    engine, ref = _engine(project_dir, stack)
    summary = engine.preview(ref, _stream)
    rows = "\n".join(f"| {op} | {n} |" for op, n in sorted(summary.counts.items()))
    create_markdown_artifact(
        key=artifact_key("preview", ref.project_dir.name, stack),
        markdown=f"# {title}\n\n| operation | resources |\n|---|---|\n{rows}\n",
        description=f"pulumi preview of {ref.label}",
    )
    return dict(summary.counts)


@named("up_stack[{project_dir:name}/{stack}]")
@local_task
def up_stack(project_dir: Path, stack: str, planned: int | None = None) -> dict[str, object]:
    """Update the stack (a checkpoint is exported first); its public outputs.

    ``planned`` is the number of resource steps the preview counted, for the progress
    artifact; without it the bar only says started and done.
    """
    engine, ref = _engine(project_dir, stack)
    progress = Progress(f"pulumi up {ref.label}: starting")
    done = 0

    def on_event(event: StackEvent) -> None:
        nonlocal done
        _stream(event)
        if event.kind == "resource-done" and _counted(event):
            done += 1
            of = f" of {planned}" if planned else ""
            progress.show(
                stack_percent(done, planned), f"pulumi up {ref.label}: {done}{of} resources done"
            )

    outputs = _public(engine.up(ref, on_event))
    progress.show(100.0, f"pulumi up {ref.label}: done ({done} resources)")
    return outputs


@named("export_stack[{project_dir:name}/{stack}]")
@local_task
def export_stack(project_dir: Path, stack: str) -> Checkpoint:
    """The stack's state as a checkpoint."""
    engine, ref = _engine(project_dir, stack)
    return engine.export(ref)


@named("import_stack[{project_dir:name}/{stack}]")
@local_task
def import_stack(project_dir: Path, stack: str, checkpoint: Checkpoint) -> None:
    """Restore the stack's state from a checkpoint."""
    engine, ref = _engine(project_dir, stack)
    engine.import_(ref, checkpoint)


@named("destroy_stack[{project_dir:name}/{stack}]")
@local_task
def destroy_stack(project_dir: Path, stack: str) -> dict[str, int]:
    """Delete every resource of the stack."""
    engine, ref = _engine(project_dir, stack)
    return dict(engine.destroy(ref, _stream).counts)


# --- the rollout's saga -----------------------------------------------------------------


@named("journal_rollout[{environment}/{colour}]")
@local_task
def journal_rollout(
    environment: str,
    backend_dir: str,
    colour: str,
    serving_ids: list[str],
    checkpoint: Checkpoint,
    stack_file_before: str,
) -> str:
    """Journal the new colour's rollout before it starts (the stack's checkpoint and its
    settings file as they were); returns its saga id."""
    clients = for_process(load_settings())
    saga = undo.saga_id(environment, str(flow_run.get_id() or time.time_ns()))
    clients.backups().keep_checkpoint(saga, checkpoint)
    clients.backups().keep_files(saga, {f"Pulumi.{environment}.yaml": stack_file_before or None})
    Saga(saga, clients.ledger()).intend(
        undo.ROLLOUT_STEP,
        {
            "environment": environment,
            "backend_dir": backend_dir,
            "colour": colour,
            "serving_ids": serving_ids,
            "owner": clients.state_owner(),
        },
        {"action": undo.ROLLOUT_ACTION, "backup": saga},
    )
    return saga


@named("close_rollout[{saga}]")
@local_task
def close_rollout(saga: str, detail: str, *, compensated: bool = False) -> None:
    """The rollout ended as the run says: served, or undone in-process."""
    clients = for_process(load_settings())
    journal = Saga(saga, clients.ledger())
    if compensated:
        for intent in journal.open_intents():
            clients.ledger().close(intent.key, Closure.COMPENSATED, detail)
    else:
        journal.complete(detail)
    clients.backups().discard(saga)


# --- the dry run's saga -----------------------------------------------------------------


@named("journal_preview[{environment}]")
@local_task
def journal_preview(
    environment: str,
    infra: str,
    new: list[str],
    stack_files: dict[str, str | None],
    overrides: dict[str, dict[str, str]],
) -> str:
    """Journal, before a dry run previews, what it changes: the stacks of ``new`` projects
    (it creates them) and the stack files of ``stack_files`` (project -> text as it was,
    None: none), into which it writes ``overrides`` (project -> config values); its saga."""
    clients = for_process(load_settings())
    saga = undo.saga_id(environment, str(flow_run.get_id() or time.time_ns()))
    files = {f"{p}/Pulumi.{environment}.yaml": text for p, text in stack_files.items()}
    clients.backups().keep_files(saga, files)
    Saga(saga, clients.ledger()).intend(
        undo.PREVIEW_STEP,
        {
            "environment": environment,
            "infra": infra,
            "projects": list(stack_files),
            "new": new,
            "overrides": overrides,
        },
        {"action": undo.PREVIEW_ACTION, "backup": saga},
    )
    return saga


@named("undo_preview[{environment}]")
@local_task
def undo_preview(environment: str, infra: str, saga: str | None = None) -> list[str]:
    """Put back what dry runs of ``environment`` changed for their previews: this run's
    (``saga``; what cannot be put back stays journaled, in a warning), or, with no
    ``saga``, every one a killed dry run left: StackError when one cannot be, since the run
    would otherwise work from that dry run's config. ``infra`` holds the projects to copy
    when a run's own directory is gone."""
    clients = for_process(load_settings())
    if saga is not None:
        sagas = [Saga(saga, clients.ledger())]
    else:
        sagas = [
            s
            for s in open_sagas(clients.ledger(), undo.saga_id(environment, ""))
            if undo.is_preview(s)
        ]
    compensators = undo.preview_compensators(clients.stack_engine, clients.backups(), Path(infra))
    said, failed = [], []
    for each in sagas:
        report = each.compensate(compensators)
        said += [decision.detail for _, decision in report.closed]
        failed += [f"{intent.key}: {why}" for intent, why in report.failed]
    for line in said:
        _log().info("%s", line)
    if failed and saga is None:
        raise StackError(
            f"what a killed dry run of {environment} changed could not be put back "
            f"({'; '.join(failed)}); fix the cause and run `orchestra-ops recover`"
        )
    for line in failed:
        _log().warning("stays open for `orchestra-ops recover`: %s", line)
    return said


@named("supersede_rollouts[{environment}]")
@local_task
def supersede_rollouts(environment: str) -> list[str]:
    """Close rollouts of ``environment`` that killed runs left open: this run took over.

    Called once this run has settled their leftovers: what the stack declares is adopted,
    the rest torn down, so nothing of theirs runs outside a stack.
    """
    clients = for_process(load_settings())
    closed = []
    for saga in open_sagas(clients.ledger(), undo.saga_id(environment, "")):
        if undo.is_preview(saga):
            continue  # a dry run's: put back by undo_preview, never adopted
        saga.adopt("superseded: the next run settled the leftovers (adopted or torn down)")
        clients.backups().discard(saga.id)
        closed.append(f"{saga.id}: superseded by this run (leftovers adopted or torn down)")
    for line in closed:
        _log().warning("recovery: %s", line)
    return closed


# --- health and verification ------------------------------------------------------------


@named("health_gate_instances[port {port}]")
@local_task
def health_gate_instances(
    instances: Sequence[ApiInstance], port: int, policy: HealthPolicy
) -> list[str]:
    """Each instance's health endpoint must pass the gate; HealthCheckFailed names the first."""
    settings = load_settings()
    template = settings.lambda_cloud.health_url_template
    prober = for_process(settings).instance_prober()
    passed = []
    for instance in instances:
        url = health_url(template, instance, port)
        progress = wait_healthy(prober, url, policy)
        verdict = describe(progress, policy)
        _log().info("instance %s (%s): %s", instance.id, instance.hostname, verdict)
        if progress.state is not GateState.PASSED:
            raise HealthCheckFailed(url, f"instance {instance.id}: {verdict}")
        passed.append(f"{instance.id}: {verdict}")
    return passed


@named("terminate_colour[{environment}/{colour}]")
@cloud_task
def terminate_colour(environment: str, colour: str) -> list[str]:
    """Terminate every live API instance of ``environment`` and ``colour`` (by tags)."""
    clients = for_process(load_settings())
    api = clients.lambda_cloud()
    found = live_instances_of(
        api.list_instances(), environment, colour, owner=clients.state_owner()
    )
    if found:
        api.terminate([i.id for i in found])
    return [str(i.id) for i in found]


@named("verify_rollout_undone[{environment}/{colour}]")
@cloud_task
def verify_rollout_undone(environment: str, colour: str, serving: Sequence[str]) -> str:
    """No live instance of the abandoned colour, and every serving instance still there."""
    clients = for_process(load_settings())
    live, owner = clients.lambda_cloud().list_instances(), clients.state_owner()
    left = live_instances_of(live, environment, colour, owner=owner)
    if left:
        raise OpsError(
            f"rollback left {len(left)} {colour} instance(s) of {environment} running: "
            f"{', '.join(i.id for i in left)}; terminate them (`orchestra-ops recover`)"
        )
    alive = {i.id for i in live if i.status not in GONE}
    missing = [i for i in serving if InstanceId(i) not in alive]
    if missing:
        raise OpsError(f"serving instance(s) {', '.join(missing)} of {environment} are gone")
    return f"no {colour} instance left; {len(serving)} serving instance(s) untouched"


@named("live_instance_ids[{environment}]")
@cloud_task
def live_instance_ids(environment: str) -> list[str]:
    """Ids of every live API instance of ``environment``."""
    clients = for_process(load_settings())
    live = clients.lambda_cloud().list_instances()
    return sorted(
        str(i.id) for i in live_instances_of(live, environment, owner=clients.state_owner())
    )


# --- leases -----------------------------------------------------------------------------


def lease_path(environment: str) -> Path:
    """Where an environment's time-to-live is kept."""
    return load_settings().runtime.state_dir / "leases" / f"{environment}.json"


@named("write_lease[{lease.environment}]")
@local_task
def write_lease(lease: Lease) -> None:
    """Record when ``lease.environment`` is due for cleanup."""
    payload = json.dumps({"expires_at": lease.expires_at.isoformat()})
    write_atomically(lease_path(lease.environment), payload)


@named("clear_lease[{environment}]")
@local_task
def clear_lease(environment: str) -> None:
    """Forget ``environment``'s time-to-live (its instances are gone)."""
    lease_path(environment).unlink(missing_ok=True)


def read_lease(environment: str) -> Lease | None:
    """The environment's lease, if one was recorded."""
    path = lease_path(environment)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Lease(environment, dt.datetime.fromisoformat(data["expires_at"]))
