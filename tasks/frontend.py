"""Tasks of the frontend migration: one side effect each, clients built inside.

Side-effecting tasks never cache and never persist their results (some carry env
values). Undo lives in ``on_rollback`` hooks that catch their own errors, so one
failing hook cannot stop the others; the durable ledger covers crashes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from prefect.artifacts import create_markdown_artifact
from prefect.transactions import Transaction, get_transaction

from orchestra_ops.adapters.app_source import deploy_files, read_app_texts
from orchestra_ops.adapters.health import HttpProber, wait_healthy
from orchestra_ops.adapters.node_build import BuildOutcome, preflight_build
from orchestra_ops.domain.frontend.detect import AppProfile, detect_app
from orchestra_ops.domain.frontend.migration import (
    MigrationPlan,
    plan_migration,
    render_plan,
    source_digest,
)
from orchestra_ops.domain.health import GateProgress, GateState, HealthPolicy, describe
from orchestra_ops.domain.vercel import (
    Deployment,
    DeploymentId,
    DeploymentState,
    EnvVar,
    Project,
    ProjectSettings,
)
from orchestra_ops.errors import DeploymentFailed, HealthCheckFailed, VercelNotFound
from orchestra_ops.ledger import Intent, Ledger, Outcome, reconcile
from orchestra_ops.recover import PROMOTE_ACTION, compensate_promote, ledger_for
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tasks.policy import artifact_key, cloud_task, local_task, run_logger

SECRET_PREFIX = "ORCHESTRA_SECRET_"  # noqa: S105 - a variable-name prefix, not a secret
DIGEST_META = "orchestraDigest"


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return run_logger("orchestra_ops.frontend")


def _remember(**values: object) -> None:
    """Keep what a rollback hook needs in the current transaction (memory only)."""
    transaction = get_transaction()
    if transaction is not None:
        for key, value in values.items():
            transaction.set(key, value)


@cloud_task
def ensure_project(project_ref: str, settings: ProjectSettings, create: bool) -> Project | None:
    """The Vercel project; created with ``settings`` when missing and ``create`` is set."""
    with build(load_settings()) as clients:
        try:
            return clients.vercel().get_project(project_ref)
        except VercelNotFound:
            if not create:
                return None
            _log().info("creating Vercel project %s", project_ref)
            return clients.vercel().create_project(project_ref, settings)


@cloud_task
def production_deployment(project_id: str) -> str | None:
    """The deployment production serves right now, if any."""
    with build(load_settings()) as clients:
        return clients.vercel().get_project(project_id).production_deployment_id


@local_task
def detect(repo_path: str, app: str) -> AppProfile:
    """What the app is (framework, commands, output)."""
    return detect_app(app, read_app_texts(Path(repo_path) / app))


@cloud_task
def plan_app(
    repo_path: str,
    app: str,
    project_id: str | None,
    backend_api_url: str,
    overrides: dict[str, str],
) -> MigrationPlan:
    """Read the app, diff against the project's env, publish the plan as an artifact."""
    texts = read_app_texts(Path(repo_path) / app)
    current: list[EnvVar] = []
    if project_id is not None:
        with build(load_settings()) as clients:
            current = clients.vercel().list_env(project_id, decrypt=True)
    secrets = {
        k.removeprefix(SECRET_PREFIX): v
        for k, v in os.environ.items()
        if k.startswith(SECRET_PREFIX)
    }
    plan = plan_migration(app, texts, backend_api_url, current, overrides, secrets)
    create_markdown_artifact(render_plan(plan), key=artifact_key("frontend-plan", app))
    return plan


@local_task
def check_build(repo_path: str, plan: MigrationPlan) -> BuildOutcome:
    """The preflight build with the new configuration, in a temporary copy."""
    build_env = {v.key: v.value.get_secret_value() for v in plan.env.variables}
    with tempfile.TemporaryDirectory(prefix="orchestra-preflight-") as work:
        outcome = preflight_build(
            Path(repo_path) / plan.app, plan.profile, plan.config_files, build_env, Path(work)
        )
    _log().info("preflight %s: %s", outcome.status, outcome.detail)
    return outcome


@local_task
def write_config(repo_path: str, app: str, files: dict[str, str]) -> dict[str, str | None]:
    """Write the new config files into the repo; returns the original texts (None: new)."""
    originals: dict[str, str | None] = {}
    for relative, text in files.items():
        path = Path(repo_path) / app / relative
        originals[relative] = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")
    _remember(originals=originals, app_dir=str(Path(repo_path) / app))
    return originals


@write_config.on_rollback
def _restore_config(transaction: Transaction) -> None:
    logger = _log()
    try:
        app_dir = Path(transaction.get("app_dir"))
        for relative, text in transaction.get("originals").items():
            path = app_dir / relative
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")
        logger.info("rollback: configuration files of %s restored", app_dir.name)
    except Exception as error:  # a raising hook would stop the other hooks
        logger.error("rollback: could not restore configuration files: %s", error)


@cloud_task
def snapshot_env(project_id: str) -> list[EnvVar]:
    """The project's env before the migration (sensitive values cannot be read back)."""
    with build(load_settings()) as clients:
        return clients.vercel().list_env(project_id, decrypt=True)


@cloud_task
def apply_env(project_id: str, plan: MigrationPlan, snapshot: list[EnvVar]) -> int:
    """Upsert the planned variables; returns how many were written (0 when in sync)."""
    _remember(project_id=project_id, snapshot=snapshot, keys=[v.key for v in plan.env.variables])
    if not plan.env_writes_needed:
        return 0
    with build(load_settings()) as clients:
        clients.vercel().upsert_env(project_id, [v.as_env_var() for v in plan.env.variables])
    return len(plan.env.variables)


@apply_env.on_rollback
def _restore_env(transaction: Transaction) -> None:
    logger = _log()
    try:
        restore_env(
            transaction.get("project_id"), transaction.get("snapshot"), transaction.get("keys")
        )
    except Exception as error:  # a raising hook would stop the other hooks
        logger.error("rollback: could not restore the env snapshot: %s", error)


def restore_env(project_id: str, snapshot: list[EnvVar], keys: list[str]) -> list[str]:
    """Put ``keys`` back as in ``snapshot``; returns the keys that could not be restored."""
    logger = _log()
    before = {(v.key, t): v for v in snapshot for t in v.targets}
    unrestorable = []
    with build(load_settings()) as clients:
        vercel = clients.vercel()
        for var in vercel.list_env(project_id, decrypt=True):
            if var.key not in keys:
                continue
            if not any((var.key, t) in before for t in var.targets) and var.id is not None:
                vercel.delete_env(project_id, var.id)
        back = [v for v in snapshot if v.key in keys and v.value is not None]
        unrestorable = sorted({v.key for v in snapshot if v.key in keys and v.value is None})
        if back:
            vercel.upsert_env(project_id, back)
    logger.info("rollback: env restored (%d variables; unreadable: %s)", len(back), unrestorable)
    return unrestorable


@cloud_task
def deploy(
    project: Project,
    repo_path: str,
    app: str,
    settings: ProjectSettings,
    extra: dict[str, bytes],
    digest_settings: dict[str, str | None],
) -> Deployment:
    """Deploy the app's files, or adopt a ready deployment of the very same files."""
    files = {**deploy_files(Path(repo_path) / app), **extra}
    digest = source_digest(files, digest_settings)
    with build(load_settings()) as clients:
        vercel = clients.vercel()
        for existing in vercel.list_deployments(project_id=project.id):
            if existing.meta.get(DIGEST_META) == digest and existing.state in (
                DeploymentState.READY,
                DeploymentState.BUILDING,
                DeploymentState.QUEUED,
            ):
                _log().info("adopting %s: same source digest %s", existing.id, digest)
                return existing
        return vercel.create_deployment(
            project.name, files, project_settings=settings, meta={DIGEST_META: digest}
        )


@local_task
def wait_ready(deployment_id: str, timeout_s: float, poll_s: float = 1.0) -> Deployment:
    """Poll until READY with its alias assigned; ERROR ends with the build log's tail."""
    deadline = time.monotonic() + timeout_s
    with build(load_settings()) as clients:
        vercel = clients.vercel()
        while True:
            current = vercel.get_deployment(deployment_id)
            if current.state in (DeploymentState.ERROR, DeploymentState.CANCELED):
                events = vercel.deployment_events(DeploymentId(deployment_id))
                tail = " | ".join(e.serial for e in events[-5:])
                raise DeploymentFailed(
                    deployment_id, current.state.value, current.error_message or tail
                )
            if current.state is DeploymentState.READY and current.alias_assigned:
                return current
            if time.monotonic() > deadline:
                raise DeploymentFailed(
                    deployment_id, current.state.value, f"not ready in {timeout_s:.0f} s"
                )
            time.sleep(poll_s)


@local_task
def health_gate(url: str, policy: HealthPolicy, label: str) -> GateProgress:
    """Probe ``url`` until the gate decides; a failed gate raises HealthCheckFailed."""
    logger = _log()
    prober = HttpProber(edge_url=load_settings().vercel.edge_url)
    try:
        progress = wait_healthy(prober, url, policy)
    finally:
        prober.close()
    logger.info("%s %s: %s", label, url, describe(progress, policy))
    if progress.state is not GateState.PASSED:
        raise HealthCheckFailed(url, describe(progress, policy))
    return progress


@cloud_task
def promote(project_id: str, deployment_id: str, previous_id: str | None) -> None:
    """Point production at ``deployment_id`` (a no-op when it already is)."""
    _remember(project_id=project_id, previous_id=previous_id)
    if previous_id == deployment_id:
        return
    with build(load_settings()) as clients:
        clients.vercel().promote(project_id, DeploymentId(deployment_id))


@promote.on_rollback
def _undo_promote(transaction: Transaction) -> None:
    logger = _log()
    try:
        previous = transaction.get("previous_id")
        if previous is None:
            logger.error("rollback: no earlier production deployment to return to")
            return
        with build(load_settings()) as clients:
            clients.vercel().rollback(transaction.get("project_id"), DeploymentId(previous))
        logger.info("rollback: production points at %s again", previous)
    except Exception as error:  # a raising hook would stop the other hooks
        logger.error("rollback: instant rollback failed: %s", error)


def _ledger() -> Ledger:
    return ledger_for(load_settings().runtime.state_dir)


def promote_intent_key(project_id: str, deployment_id: str) -> str:
    """The ledger key of promoting one deployment of one project."""
    return f"frontend:{project_id}:{deployment_id}:promote"


def record_promote_intent(project_id: str, deployment_id: str, previous_id: str | None) -> str:
    """Write the intent before production changes; returns its key."""
    key = promote_intent_key(project_id, deployment_id)
    _ledger().intend(
        key,
        "promote",
        {"project_id": project_id, "deployment_id": deployment_id},
        {"action": PROMOTE_ACTION, "previous_id": previous_id},
    )
    return key


def close_intent(key: str, outcome: Outcome, detail: str = "") -> None:
    """Record how a ledger intent ended."""
    _ledger().close(key, outcome, detail)


def _compensate_promote(intent: Intent) -> Outcome:
    """An unverified promotion found after a crash: put the previous deployment back."""
    with build(load_settings()) as clients:
        return compensate_promote(clients.vercel(), intent).outcome


@local_task
def recover_project(project_id: str) -> list[str]:
    """Close this project's open intents left by a crashed run; returns what happened."""
    report = reconcile(
        _ledger(),
        {PROMOTE_ACTION: _compensate_promote},
        select=lambda intent: intent.target.get("project_id") == project_id,
    )
    lines = [f"{i.key}: {o}" for i, o in report.closed]
    lines += [f"{i.key}: still open ({why})" for i, why in report.failed]
    for line in lines:
        _log().warning("recovery: %s", line)
    return lines
