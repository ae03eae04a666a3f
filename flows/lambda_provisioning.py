"""Phase 2: Lambda Cloud API instances through Pulumi, blue-green, with automatic rollback.

The request is checked before anything changes (validated parameters, listed capacity,
the cost ceiling). The shared stack is brought up, then the backend stack's new colour
next to the serving one; the new colour must pass its health gate before it serves, and
only then is the old colour torn down. A failure before the switch runs the rollback
subflow: the new colour is destroyed, the serving one kept, the state checkpoint restored,
and the Lambda API asked whether any instance of the abandoned colour is left.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Failed
from pydantic import BaseModel, Field

import tasks.provisioning as t
from flows.params import ProvisioningParams
from orchestra_ops.domain.notifications import (
    provisioning_refused,
    rollback_failed,
    rollback_ran,
    run_unfinished,
)
from orchestra_ops.domain.outcomes import RunOutcome
from orchestra_ops.domain.provisioning import (
    Rollout,
    StackColours,
    colour_config,
    lease_for,
    plan_rollout,
    stacks_target,
    terminated_step,
)
from orchestra_ops.domain.run_markdown import provisioning_report
from orchestra_ops.domain.stack_config import BackendConfig
from orchestra_ops.errors import (
    ConfigError,
    InsufficientCapacity,
    OpsError,
    RollbackFailed,
    RolledBack,
)
from orchestra_ops.ports.stack_engine import Checkpoint
from tasks.notify import send_notice
from tasks.policy import artifact_key, final_state
from tasks.serialise import one_at_a_time
from tasks.stack_files import load_backend_config, restore_stack_file, stack_file_text


class Approval(RunInput):
    """The answer to a prod provisioning request, given in the Prefect UI."""

    approve: bool = Field(description="go ahead with the previewed change")
    note: str = Field("", max_length=500, description="why (kept in the run's logs)")


class ProvisioningReport(BaseModel):
    """What one provisioning run did."""

    environment: str
    # planned | provisioned | refused | rolled-back | rollback-failed | unfinished
    outcome: RunOutcome = RunOutcome.PLANNED
    serving_colour: str | None = None
    instance_ids: list[str] = Field(default_factory=list)
    api_url: str | None = None
    usd_per_hour: str | None = None
    preview: dict[str, int] = Field(default_factory=dict)
    health: list[str] = Field(default_factory=list)
    rollback: list[str] = Field(default_factory=list)
    duration_s: float | None = None
    error: str | None = None


@flow(name="lambda-provisioning", flow_run_name="{params.environment}", log_prints=False)
def lambda_provisioning(params: ProvisioningParams) -> ProvisioningReport:
    """Provision the environment's API instances blue-green (see the module docstring)."""
    started = time.monotonic()
    # Absolute once, here: the ledger and recovery must never resolve a relative one
    # against another directory (a deployment run's is its own clone, deleted after it).
    params = params.model_copy(
        update={"infrastructure_dir": str(Path(params.infrastructure_dir).resolve())}
    )
    env, infra = params.environment, Path(params.infrastructure_dir)
    shared_dir, backend_dir = infra / "shared", infra / "backend"
    report = ProvisioningReport(environment=env)
    with one_at_a_time(*stacks_target(env)):
        # What a killed dry run of this environment left (stacks made for its preview, the
        # request's config in the stack files) goes first: it must not become this request.
        t.undo_preview(env, str(infra))
        try:
            t.check_programs([shared_dir, backend_dir])
            cfg = load_backend_config(backend_dir, env, params.overrides())
            placement = t.check_request(cfg, params.max_usd_per_hour)
        except (ConfigError, InsufficientCapacity) as error:
            report.outcome, report.error = RunOutcome.REFUSED, str(error)
            _publish(report)
            send_notice(provisioning_refused(env, str(error)))
            raise
        report.usd_per_hour = str(placement.worst_usd_per_hour)
        if params.dry_run:
            report.preview = _dry_run(shared_dir, backend_dir, env, params)
            _publish(report)
            return report
        return _provision(params, cfg, report, started)


def _provision(
    params: ProvisioningParams, cfg: BackendConfig, report: ProvisioningReport, started: float
) -> ProvisioningReport:
    """The mutating part, one run per environment at a time."""
    env, infra = params.environment, Path(params.infrastructure_dir)
    shared_dir, backend_dir = infra / "shared", infra / "backend"
    t.up_stack(shared_dir, env)
    current = StackColours.from_outputs(t.stack_outputs(backend_dir, env))
    rollout = plan_rollout(current)
    serving_ids = [i.id for i in current.instances.get(rollout.serving or "", ())]
    _clear_leftover(backend_dir, env, rollout)
    report.rollback = t.supersede_rollouts(env)
    config_before = stack_file_text(backend_dir, env)
    t.configure(backend_dir, env, _rollout_config(params, rollout))
    report.preview = t.preview_stack(backend_dir, env, f"Provisioning {env}: {rollout.new}")
    if params.approval_timeout_s is not None:
        _await_approval(params.approval_timeout_s, report, backend_dir, config_before)
    checkpoint = t.export_stack(backend_dir, env)
    saga = t.journal_rollout(
        env, str(backend_dir), rollout.new, serving_ids, checkpoint, config_before or ""
    )
    try:
        outputs = t.up_stack(backend_dir, env, planned=sum(report.preview.values()))
        new = StackColours.from_outputs(outputs).instances.get(rollout.new, ())
        report.health = t.health_gate_instances(new, cfg.api_port, params.health.policy())
    except Exception as error:
        return _roll_back(report, error, saga, str(backend_dir), rollout, serving_ids, checkpoint)
    # Past the gate the new colour is kept whatever happens next: nothing left to undo.
    t.close_rollout(saga, f"{rollout.new} passed its health gate; switching to it")
    try:
        _switch_and_retire(backend_dir, env, rollout, report, outputs)
    except Exception as error:
        return _unfinished(report, error, rollout)
    if params.ttl_hours is not None:
        t.write_lease(lease_for(env, params.ttl_hours, dt.datetime.now(dt.UTC)))
    report.outcome, report.duration_s = RunOutcome.PROVISIONED, round(time.monotonic() - started, 2)
    _publish(report)
    return report


def _unfinished(
    report: ProvisioningReport, error: Exception, rollout: Rollout
) -> ProvisioningReport:
    """The new colour passed its gate, but the switch or the old colour's removal failed."""
    env = report.environment
    report.outcome, report.error = RunOutcome.UNFINISHED, f"{type(error).__name__}: {error}"
    left = (
        f"{rollout.new} passed its health gate; switching to it and retiring "
        f"{rollout.serving or 'nothing'} did not finish: the next run of {env} finishes it, "
        "`orchestra-ops recover --terminate-orphans` removes instances the stack no longer lists"
    )
    report.rollback = [left]
    _publish(report)
    send_notice(run_unfinished(f"Lambda provisioning of {env}", report.error, left))
    failed = OpsError(f"provisioning {env} unfinished: {report.error}; {left}")
    failed.__cause__ = error
    return final_state(
        Failed(name="Unfinished", message=str(failed), data=failed), ProvisioningReport
    )


def _roll_back(
    report: ProvisioningReport,
    error: Exception,
    saga: str,
    backend_dir: str,
    rollout: Rollout,
    serving_ids: list[str],
    checkpoint: Checkpoint,
) -> ProvisioningReport:
    """The new colour failed: undo it; a rollback that cannot finish is said loudly."""
    env = report.environment
    report.error = f"{type(error).__name__}: {error}"
    what = f"Lambda provisioning of {env} ({rollout.new} instances)"
    steps, still_open = rollback_provisioning(
        env, backend_dir, rollout.serving, rollout.new, serving_ids, checkpoint
    )
    report.rollback = steps + [f"NOT DONE: {step}" for step in still_open]
    if still_open:
        report.outcome = RunOutcome.ROLLBACK_FAILED
        _publish(report)
        send_notice(rollback_failed(what, report.error, still_open))
        failed = RollbackFailed(
            f"provisioning {env} failed ({report.error}) and its rollback did not finish",
            open_steps=still_open,
            retryable=False,
        )
        failed.__cause__ = error
        return final_state(
            Failed(name="RollbackFailed", message=str(failed), data=failed), ProvisioningReport
        )
    t.close_rollout(saga, "rolled back: " + "; ".join(steps), compensated=True)
    report.outcome = RunOutcome.ROLLED_BACK
    _publish(report)
    send_notice(
        rollback_ran(
            what, report.error, f"{rollout.serving} keeps serving" if rollout.serving else None
        )
    )
    rolled_back = RolledBack(
        f"provisioning {env} failed before {rollout.new} served: {report.error}; "
        + "; ".join(steps),
        restored=True,
    )
    rolled_back.__cause__ = error
    return final_state(
        Failed(name="RolledBack", message=str(rolled_back), data=rolled_back), ProvisioningReport
    )


def _await_approval(
    timeout_s: int, report: ProvisioningReport, backend_dir: Path, config_before: str | None
) -> None:
    """Pause for a person's answer; a rejection or no answer in time refuses the request."""
    logger = get_run_logger()
    logger.info("waiting up to %d s for approval of the change %s", timeout_s, report.preview)
    try:
        answer = pause_flow_run(
            wait_for_input=Approval, timeout=timeout_s, poll_interval=min(10, timeout_s)
        )
        reason = None if answer.approve else f"rejected: {answer.note or 'no reason given'}"
    except FlowPauseTimeout:
        reason = f"no approval within {timeout_s} s"
    if reason is None:
        logger.info("approved: %s", answer.note or "no note")
        return
    restore_stack_file(backend_dir, report.environment, config_before)  # only it had changed
    report.outcome, report.error = RunOutcome.REFUSED, reason
    _publish(report)
    send_notice(provisioning_refused(report.environment, reason))
    raise ConfigError(f"provisioning {report.environment}: {reason}", source="approval")


def _rollout_config(params: ProvisioningParams, rollout: Rollout) -> dict[str, str]:
    return {**params.overrides(), **rollout.config_during()}


def _dry_run(
    shared_dir: Path, backend_dir: Path, env: str, params: ProvisioningParams
) -> dict[str, int]:
    """Preview with the request's config, then leave the stacks as they were: the ones the
    preview had to create are removed, and both stack files put back (the request's config
    is written there for the preview; selecting a stack the first time adds its
    ``encryptionsalt``). Both are journaled first: what a killed dry run left, the next run
    of the environment (or ``recover``) removes and restores before anything else.

    The backend reads the shared stack's outputs, so on an environment whose shared stack
    was never brought up only the shared stack can be previewed.
    """
    before = {project: stack_file_text(project, env) for project in (shared_dir, backend_dir)}
    new = [project.name for project in t.stacks_to_create([shared_dir, backend_dir], env)]
    files = {project.name: text for project, text in before.items()}
    overrides = {backend_dir.name: params.overrides()}
    saga = t.journal_preview(env, str(shared_dir.parent), new, files, overrides)
    try:
        counts = {
            f"shared:{op}": n
            for op, n in t.preview_stack(shared_dir, env, f"Provisioning {env}: shared").items()
        }
        if not t.stack_outputs(shared_dir, env):
            get_run_logger().info("dry run: %s has no shared stack yet; backend not previewed", env)
            return counts
        t.configure(backend_dir, env, params.overrides())
        backend = t.preview_stack(backend_dir, env, f"Provisioning {env}: backend")
    finally:
        t.undo_preview(env, str(shared_dir.parent), saga)
        for project, text in before.items():
            restore_stack_file(project, env, text)
    return counts | {f"backend:{op}": n for op, n in backend.items()}


def _clear_leftover(backend_dir: Path, env: str, rollout: Rollout) -> None:
    """Tear down a colour an interrupted rollout left next to the serving one."""
    if rollout.leftover is None or rollout.serving is None:
        return
    get_run_logger().warning(
        "%s instances of %s were left by an interrupted rollout: tearing them down first",
        rollout.leftover,
        env,
    )
    t.configure(backend_dir, env, colour_config([rollout.serving], rollout.serving))
    t.up_stack(backend_dir, env)


def _switch_and_retire(
    backend_dir: Path,
    env: str,
    rollout: Rollout,
    report: ProvisioningReport,
    outputs: dict[str, object],
) -> None:
    """The new colour serves; then the old one goes (a failure here leaves the new serving).

    A first rollout has no old colour: the stack already holds the new one only, serving
    (``outputs``), and one more ``up`` would change nothing (it costs seconds on the engine).
    """
    final = outputs
    if rollout.serving is not None:
        t.configure(backend_dir, env, {"active_colour": rollout.new})
        t.up_stack(backend_dir, env)
        t.configure(backend_dir, env, colour_config([rollout.new], rollout.new))
        final = t.up_stack(backend_dir, env)
    report.serving_colour = rollout.new
    report.instance_ids = [str(i) for i in final.get("instance_ids") or []]  # type: ignore[attr-defined]
    api_url = final.get("api_url")
    report.api_url = str(api_url) if api_url else None


@flow(name="lambda-provisioning-rollback", log_prints=False)
def rollback_provisioning(
    environment: str,
    backend_dir: str,
    serving: str | None,
    abandoned: str,
    serving_ids: list[str],
    checkpoint: Checkpoint,
) -> tuple[list[str], list[str]]:
    """Destroy the abandoned colour, keep the serving one, restore the checkpoint, verify.

    Never raises: returns what was done, and what could not be done (still open).
    """
    logger = get_run_logger()
    project, steps, still_open = Path(backend_dir), [], []
    try:
        if serving is None:
            t.destroy_stack(project, environment)
        else:
            t.configure(project, environment, colour_config([serving], serving))
            t.up_stack(project, environment)
        steps.append(f"{abandoned} removed from the stack")
    except Exception as error:
        steps.append(f"{abandoned} could not be removed through the stack ({_why(error)})")
    try:  # also what a create that failed half-way left outside the stack's state
        gone = t.terminate_colour(environment, abandoned)
        steps.append(terminated_step(abandoned, len(gone)))
    except Exception as api_error:
        still_open.append(f"terminate the {abandoned} instances: {_why(api_error)}")
    try:
        t.import_stack(project, environment, checkpoint)
        steps.append("stack state restored from the checkpoint taken before the update")
    except Exception as state_error:
        still_open.append(f"restore the stack state from its checkpoint: {_why(state_error)}")
    try:
        steps.append(t.verify_rollout_undone(environment, abandoned, serving_ids))
    except Exception as verify_error:
        still_open.append(f"verify that no {abandoned} instance is left: {_why(verify_error)}")
    for step in steps:
        logger.info("rollback: %s", step)
    for step in still_open:
        logger.error("rollback: NOT DONE: %s", step)
    return steps, still_open


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _publish(report: ProvisioningReport) -> None:
    create_markdown_artifact(
        key=artifact_key("lambda-provisioning", report.environment),
        markdown=provisioning_report(report.model_dump()),
        description=f"provisioning of {report.environment}: {report.outcome}",
    )


@flow(name="lambda-ttl-cleanup", log_prints=False)
def lambda_ttl_cleanup(infrastructure_dir: str = "infrastructure/pulumi") -> list[str]:
    """Destroy the dev API instances whose time-to-live has passed.

    Args:
        infrastructure_dir: holds the backend Pulumi project, on the worker
    """
    lease = t.read_lease("dev")
    now = dt.datetime.now(dt.UTC)
    if lease is None or not lease.expired(now):
        return []
    backend_dir = Path(infrastructure_dir).resolve() / "backend"
    t.destroy_stack(backend_dir, "dev")
    left = t.live_instance_ids("dev")
    if left:
        raise OpsError(f"dev instances still running after cleanup: {', '.join(left)}")
    t.clear_lease("dev")
    get_run_logger().info("dev expired at %s: its API instances are destroyed", lease.expires_at)
    return [f"dev destroyed (expired {lease.expires_at.isoformat()})"]
