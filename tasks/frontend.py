"""Tasks of the frontend migration: one side effect each, over the process's clients.

Side-effecting tasks never cache and never persist their results (some carry env
values). A step that changes something journals its undo in the run's saga first
(``orchestra_ops.saga``); nothing is undone on a failed attempt, only when the flow
fails (:func:`compensate`), or after a crash (:func:`recover_project`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from prefect.artifacts import create_markdown_artifact

from orchestra_ops import frontend_rollback as undo
from orchestra_ops.adapters.app_source import (
    check_deploy_set,
    deploy_files,
    find_workspace,
    read_app_texts,
    read_code_texts,
)
from orchestra_ops.adapters.files import read_texts, write_atomically
from orchestra_ops.domain.frontend.detect import AppProfile, detect_app
from orchestra_ops.domain.frontend.gate import GateResult, api_checks, index_check, unchecked
from orchestra_ops.domain.frontend.migration import (
    MigrationPlan,
    plan_migration,
    render_plan,
    source_digest,
)
from orchestra_ops.domain.health import GateState, HealthPolicy, describe
from orchestra_ops.domain.vercel import (
    Deployment,
    DeploymentId,
    EnvType,
    EnvVar,
    Project,
    ProjectId,
    ProjectSettings,
)
from orchestra_ops.errors import (
    HealthCheckFailed,
    RollbackFailed,
    VercelNotFound,
)
from orchestra_ops.frontend_deploy import deploy_release
from orchestra_ops.frontend_deploy import wait_ready as follow_deployment
from orchestra_ops.health_gate import run_checks
from orchestra_ops.ports.app_build import BuildOutcome
from orchestra_ops.saga import Saga, open_sagas
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import Clients, for_process
from tasks.policy import artifact_key, cloud_task, local_task, run_logger
from tasks.progress import Progress
from tasks.run_names import named

SECRET_PREFIX = "ORCHESTRA_SECRET_"  # noqa: S105 - a variable-name prefix, not a secret


def _log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    return run_logger("orchestra_ops.frontend")


def _clients() -> Clients:
    return for_process(load_settings())


def _saga(saga_id: str) -> Saga:
    return Saga(saga_id, _clients().ledger())


# --- reading and planning (no change anywhere) ------------------------------------------


@named("find_project[{project_ref}]")
@cloud_task
def find_project(project_ref: str) -> Project | None:
    """The Vercel project, or None when it does not exist yet."""
    try:
        return _clients().vercel().get_project(project_ref)
    except VercelNotFound:
        return None


@named("create_project[{project_ref}]")
@cloud_task
def create_project(project_ref: str, settings: ProjectSettings) -> Project:
    """Create the project (only once the plan and preflight have passed)."""
    vercel = _clients().vercel()
    try:  # a retry after "created but answered 500" finds it
        return vercel.get_project(project_ref)
    except VercelNotFound:
        _log().info("creating Vercel project %s", project_ref)
        return vercel.create_project(project_ref, settings)


@named("production_deployment[{project_id}]")
@cloud_task
def production_deployment(project_id: ProjectId) -> DeploymentId | None:
    """The deployment production serves right now, if any."""
    return _clients().vercel().get_project(project_id).production_deployment_id


@named("detect[{app}]")
@local_task
def detect(repo_path: str, app: str) -> AppProfile:
    """What the app is (framework, commands, output, its workspace); refuses what the
    migration does not support, by name."""
    root = Path(repo_path)
    return detect_app(app, read_app_texts(root / app), find_workspace(root, root / app))


@named("check_sources[{app}]")
@local_task
def check_sources(repo_path: str, app: str, upload: str = ".") -> int:
    """Refuse a deploy set Vercel would refuse (size, names) before anything changes.
    ``upload``: the folder a deployment uploads, relative to the app (see upload_dir)."""
    return check_deploy_set((Path(repo_path) / app / upload).resolve())


@named("plan_app[{app}]")
@cloud_task
def plan_app(
    repo_path: str,
    app: str,
    project_id: ProjectId | None,
    backend_api_url: str,
    overrides: dict[str, str],
    api_prefixes: tuple[str, ...] | None = None,
) -> MigrationPlan:
    """Read the app and its code, diff against the project's env, publish the plan.

    Only reads Vercel (the project's env); :func:`refusal` of the plan is the flow's
    to act on, before anything changes.
    """
    root = Path(repo_path)
    texts = read_app_texts(root / app)
    current: list[EnvVar] = []
    if project_id is not None:
        current = _clients().vercel().list_env(project_id, decrypt=True)
    secrets = {
        k.removeprefix(SECRET_PREFIX): v
        for k, v in os.environ.items()
        if k.startswith(SECRET_PREFIX)
    }
    plan = plan_migration(
        app,
        texts,
        backend_api_url,
        current,
        overrides,
        secrets,
        code=read_code_texts(root / app),
        workspace=find_workspace(root, root / app),
        declared_prefixes=api_prefixes,
    )
    create_markdown_artifact(render_plan(plan), key=artifact_key("frontend-plan", app))
    return plan


@named("check_build[{plan.app}]")
@local_task
def check_build(repo_path: str, plan: MigrationPlan) -> BuildOutcome:
    """The preflight build with the new configuration, in a temporary copy.

    The build gets the app's own variables except its sensitive ones: it runs install
    scripts of third-party packages, which need no secret of the app.
    """
    build_env = {
        v.key: v.value.get_secret_value()
        for v in plan.env.variables
        if v.type is not EnvType.SENSITIVE
    }
    profile = plan.profile
    _log().info(
        "preflight build of %s: `%s && %s` in a temporary copy (a minute or more when "
        "the npm cache is cold)",
        plan.app,
        profile.install_command,
        profile.build_command,
    )
    with tempfile.TemporaryDirectory(prefix="orchestra-preflight-") as work:
        outcome = (
            _clients()
            .app_build()
            .preflight(
                Path(repo_path) / plan.app, profile, plan.config_files, build_env, Path(work)
            )
        )
    _log().info("preflight %s: %s", outcome.status, outcome.detail)
    return outcome


# --- journaled changes ------------------------------------------------------------------


@named("write_config[{app}]")
@local_task
def write_config(saga_id: str, repo_path: str, app: str, files: dict[str, str]) -> None:
    """Back up the config files, journal the step, then write the new texts."""
    if not files:
        return
    app_dir = Path(repo_path) / app
    clients = _clients()
    clients.backups().keep_files(saga_id, read_texts(app_dir, files))
    _saga(saga_id).intend(
        "config",
        {"dir": str(app_dir), "files": sorted(files)},
        {"action": undo.FILES_ACTION, "backup": saga_id},
    )
    for relative, text in files.items():
        write_atomically(app_dir / relative, text)


@named("apply_env[{plan.app}]")
@cloud_task
def apply_env(saga_id: str, project_id: ProjectId, plan: MigrationPlan) -> int:
    """Snapshot (encrypted), journal, then upsert the planned variables; 0 when in sync."""
    if not plan.env_writes_needed:
        return 0
    clients = _clients()
    vercel = clients.vercel()
    keys = [v.key for v in plan.env.variables]
    snapshot = [v for v in vercel.list_env(project_id, decrypt=True) if v.key in keys]
    clients.backups().keep_env(saga_id, snapshot)  # the first attempt's snapshot is kept
    _saga(saga_id).intend(
        "env",
        {"project_id": project_id, "keys": keys},
        {"action": undo.ENV_ACTION, "backup": saga_id},
    )
    vercel.upsert_env(project_id, [v.as_env_var() for v in plan.env.variables])
    return len(keys)


@named("deploy[{app}]")
@cloud_task
def deploy(
    project: Project,
    repo_path: str,
    app: str,
    settings: ProjectSettings,
    extra: dict[str, bytes],
    upload: str = ".",
) -> Deployment:
    """Deploy the app's files, or adopt a ready deployment of the very same files.

    ``upload``: the folder uploaded, relative to the app (a workspace member's whole
    workspace); ``extra`` (relative to the app) goes to the app's place in it."""
    app_dir = (Path(repo_path) / app).resolve()
    root = (app_dir / upload).resolve()
    in_upload = "" if root == app_dir else f"{app_dir.relative_to(root).as_posix()}/"
    files = {
        **deploy_files(root),
        **{in_upload + path: data for path, data in extra.items()},
    }
    digest = source_digest(files, asdict(settings))  # every build setting counts
    vercel = _clients().vercel()
    existing = vercel.list_deployments(project_id=project.id)
    deployment, adopted = deploy_release(vercel, project.name, files, settings, digest, existing)
    if adopted:
        _log().info("adopting %s: same source digest %s", deployment.id, digest)
    return deployment


@named("wait_ready[{deployment_id}]")
@cloud_task
def wait_ready(deployment_id: str, timeout_s: float, poll_s: float = 1.0) -> Deployment:
    """Poll until READY with its alias assigned; ERROR ends with the build log's tail."""
    progress = Progress(f"Vercel deployment {deployment_id}: waiting for its build")
    vercel = _clients().vercel()
    return follow_deployment(
        vercel, DeploymentId(deployment_id), timeout_s, poll_s, show=progress.show
    )


@named("release_gate[{label}: {base_url}]")
@local_task
def release_gate(
    base_url: str,
    policy: HealthPolicy,
    label: str,
    fingerprint: str | None,
    api_prefixes: tuple[str, ...],
    api_probe: str | None,
    site_path: str = "",
) -> GateResult:
    """The release's gate at ``base_url``: its index (its bytes, once known) and API routes.

    Without a ``fingerprint`` the index check learns it. ``site_path``: where a Next.js
    app with a ``basePath`` serves its index. Raises HealthCheckFailed naming the check
    that failed.
    """
    checks = [index_check(base_url, policy, fingerprint, site_path)]
    done = run_checks(_clients().prober(), checks)
    _, index = done[0]
    if index.state is GateState.PASSED and fingerprint is None and not index.digest_varies:
        fingerprint = index.digest
    if index.state is GateState.PASSED:
        done += run_checks(
            _clients().prober(), api_checks(base_url, policy, api_prefixes, api_probe, fingerprint)
        )
    lines = [f"{label} {c.what} ({c.url}): {describe(p, c.policy)}" for c, p in done]
    for line in lines:
        _log().info("%s", line)
    failed = [(c, p) for c, p in done if p.state is not GateState.PASSED]
    if failed:
        check, progress = failed[0]
        raise HealthCheckFailed(check.url, f"{check.what}: {describe(progress, check.policy)}")
    notes = unchecked(api_prefixes, api_probe, fingerprint)
    return GateResult(fingerprint, tuple(lines + [f"{label}: {n}" for n in notes]))


@named("promote[{deployment_id}]")
@cloud_task
def promote(
    saga_id: str,
    project_id: ProjectId,
    deployment_id: DeploymentId,
    previous_id: DeploymentId | None,
    gate: dict[str, object],
) -> bool:
    """Journal, then point production at ``deployment_id``; False when it already was."""
    if previous_id == deployment_id:
        return False
    _saga(saga_id).intend(
        undo.PROMOTE_STEP,
        {"project_id": project_id, "deployment_id": deployment_id, "gate": gate},
        {"action": undo.PROMOTE_ACTION, "previous_id": previous_id},
    )
    _clients().vercel().promote(project_id, deployment_id)
    return True


# --- settling the saga ------------------------------------------------------------------


@named("complete[{saga_id}]")
@local_task
def complete(saga_id: str) -> None:
    """The migration is verified: close its intents, drop its backups."""
    _saga(saga_id).complete("migrated: production passed its gate")
    _clients().backups().discard(saga_id)


@named("compensate[{saga_id}]")
@cloud_task
def compensate(saga_id: str) -> list[undo.Undone]:
    """Undo the failed run's steps, newest first; RollbackFailed when some stay open."""
    clients = _clients()
    saga = _saga(saga_id)
    saga.decide_undo("the run failed")
    report = saga.compensate(undo.compensators(clients.vercel(), clients.backups()))
    done = [undo.Undone(i.step, d.outcome.value, d.detail, d.changed) for i, d in report.closed]
    for step in done:
        _log().warning("rollback: %s", step.line())
    if report.failed:
        raise RollbackFailed(
            f"rollback of {saga_id} incomplete",
            open_steps=[f"{i.step}: {why}" for i, why in report.failed],
            retryable=report.transient,
        )
    clients.backups().discard(saga_id)
    return done


@named("recover_project[{project_id}]")
@local_task
def recover_project(project_id: str) -> list[str]:
    """Settle this project's sagas that a crashed run left open; returns what happened."""
    clients = _clients()
    lines = []
    for saga in open_sagas(clients.ledger(), undo.saga_id(project_id, "")):
        report = undo.settle(
            saga, clients.vercel(), clients.backups(), undo.release_probe(clients.prober())
        )
        lines += [f"{i.key}: {d.outcome.value} ({d.detail})" for i, d in report.closed]
        lines += [f"{i.key}: still open ({why})" for i, why in report.failed]
    for line in lines:
        _log().warning("recovery: %s", line)
    return lines
