"""Track 1: move one frontend app from Docker to Vercel, health-gated, rolled back on failure.

Detect (a framework it does not support is refused by name) -> plan (artifact, no side
effect; API routes read from the app's config) -> refusal (a route it cannot read, a
variable the code needs with no value: the run stops, having changed nothing in Vercel)
-> preflight build (at the workspace root for a workspace member) -> project (created
only now) ->
journaled steps: config files, env (snapshot, then upsert) -> deploy (or adopt the same
source) -> preview gate (learns the release's fingerprint) -> promote (journaled) ->
production gate (the release's bytes and every API route through the rewrite).

Retries live inside the tasks. Only when the run fails, after every retry, are the
journaled steps undone, newest first (``orchestra_ops.saga``); a compensation that fails
ends the run ``RollbackFailed`` and stays open for ``orchestra-ops recover``. One run
at a time per project. Re-running with the same source and configuration makes no
mutating API call.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import PurePosixPath

from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Failed
from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.params import HealthParams
from orchestra_ops import frontend_rollback as undo
from orchestra_ops.domain.frontend.migration import (
    MigrationPlan,
    plan_summary,
    project_settings,
    refusal,
    upload_dir,
)
from orchestra_ops.domain.notifications import rollback_failed, rollback_ran
from orchestra_ops.domain.outcomes import RunOutcome
from orchestra_ops.domain.run_markdown import frontend_report
from orchestra_ops.domain.vercel import DeploymentId, Project, missing_project_problem
from orchestra_ops.errors import ConfigError, HealthCheckFailed, RollbackFailed, RolledBack
from tasks import frontend as t
from tasks.notify import send_notice
from tasks.policy import artifact_key, final_state
from tasks.serialise import one_at_a_time

ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

__all__ = ["FrontendMigrationParams", "HealthParams", "MigrationReport", "frontend_migration"]


class FrontendMigrationParams(BaseModel):
    """Which frontend app moves to which Vercel project, and how its release is checked
    before it serves production."""

    model_config = ConfigDict(extra="forbid", title="Frontend migration")

    repo_path: str = Field(
        title="Repository path", description="the target repository, on the worker"
    )
    app: str = Field(
        title="App directory", description="the app's directory in the repo, e.g. admin-interface"
    )
    project: str = Field(
        title="Vercel project", description="Vercel project id or name (created when missing)"
    )
    backend_api_url: str = Field(
        pattern=r"^https?://",
        title="Backend API URL",
        description="where the app's API requests go (the paths its config proxies)",
    )
    api_prefixes: list[str] | None = Field(
        None,
        title="API path prefixes",
        description="empty: read from the app's config (vite server.proxy, next.config "
        'rewrites); set it when the plan says it cannot tell, e.g. ["/backend"]: paths '
        "as the browser requests them (after a Next.js basePath)",
    )
    env_overrides: dict[str, str] = Field(
        default_factory=dict,
        title="Environment variables",
        description="non-secret values only; a secret comes from the worker's "
        "ORCHESTRA_SECRET_{KEY} variable",
    )
    preflight: bool = Field(
        True, title="Preflight build", description="build with the new config before deploying"
    )
    include_build_output: bool = Field(
        True,
        title="Upload build output",
        description="upload the preflight output too (the sandbox edge serves it)",
    )
    plan_only: bool = Field(
        False, title="Plan only", description="compute and publish the plan, change nothing"
    )
    health: HealthParams = Field(
        default_factory=HealthParams,
        title="Health check of the release",
        description="how the new release proves healthy",
    )
    deploy_timeout_s: float = Field(
        600.0,
        gt=0,
        le=3600,
        title="Deploy timeout (seconds)",
        description="give up on a Vercel build after this long",
    )
    production_url: str | None = Field(
        None,
        title="Production URL",
        description="empty: https://{project}.vercel.app",
    )

    @field_validator("app")
    @classmethod
    def _relative_app(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or not value.strip():
            raise ValueError("app must be a directory inside the repo, like admin-interface")
        return value

    @field_validator("api_prefixes")
    @classmethod
    def _prefixes(cls, value: list[str] | None) -> list[str] | None:
        bad = [
            p for p in value or [] if not re.fullmatch(r"/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~\-]", p)
        ]
        if bad:
            raise ValueError(f"API prefixes must be plain paths like /backend: {bad}")
        return value

    @field_validator("env_overrides")
    @classmethod
    def _env_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not ENV_KEY.fullmatch(k)]
        if bad:
            raise ValueError(
                f"not valid variable names (ASCII letters, digits and _, not first a digit): {bad}"
            )
        return value


class MigrationReport(BaseModel):
    """What one app's migration did."""

    app: str
    # planned | migrated | failed-before-promotion | rolled-back | rollback-failed
    outcome: RunOutcome
    project_id: str | None = None
    deployment_id: str | None = None
    preview_url: str | None = None
    production_url: str | None = None
    preflight: str = "not run"
    env_written: int = 0
    deploy_s: float | None = None
    gate: list[str] = Field(default_factory=list)
    rollback: list[str] = Field(default_factory=list)
    plan: list[str] = Field(default_factory=list, description="the plan, in a few lines")
    error: str | None = None


@flow(name="frontend-migration", flow_run_name="{params.app}", log_prints=False)
def frontend_migration(params: FrontendMigrationParams) -> MigrationReport:
    """Migrate one frontend app to Vercel (see the module docstring)."""
    profile = t.detect(params.repo_path, params.app)
    settings = project_settings(profile)
    t.check_sources(params.repo_path, params.app, upload_dir(profile))
    with contextlib.ExitStack() as held:
        existing = _hold_project(held, params.project)
        if existing is None and (missing := missing_project_problem(params.project)):
            raise ConfigError(missing, source="project")
        report = MigrationReport(
            app=params.app, outcome=RunOutcome.PLANNED, project_id=existing.id if existing else None
        )
        if existing is not None and not params.plan_only:
            # A crashed run's changes are settled first, so the plan sees the real state.
            report.rollback = t.recover_project(existing.id)
        plan = t.plan_app(
            params.repo_path,
            params.app,
            existing.id if existing else None,
            params.backend_api_url,
            params.env_overrides,
            tuple(params.api_prefixes) if params.api_prefixes is not None else None,
        )
        report.plan = plan_summary(plan)
        refused = refusal(plan)
        if params.plan_only:
            report.error = refused
            return report
        if refused:
            # Nothing has changed in Vercel yet: stop before the build and the project.
            raise ConfigError(refused, source=f"{params.repo_path}/{params.app}")
        extra: dict[str, bytes] = {}
        if params.preflight:
            built = t.check_build(params.repo_path, plan)
            report.preflight = f"{built.status}: {built.detail}"
            if params.include_build_output:
                extra = built.output
        project = existing or t.create_project(params.project, settings)
        if existing is None:
            held.enter_context(one_at_a_time("vercel-project", project.id))
        report.project_id = project.id
        return _migrate(params, plan, project, extra, report)


def _hold_project(held: contextlib.ExitStack, project_ref: str) -> Project | None:
    """Take the project's lock (by its id; by name while it does not exist); the project."""
    existing = t.find_project(project_ref)
    if existing is None:
        held.enter_context(one_at_a_time("vercel-project", f"name:{project_ref.lower()}"))
        existing = t.find_project(project_ref)  # a run we waited for may have created it
    if existing is not None:
        held.enter_context(one_at_a_time("vercel-project", existing.id))
    return existing


def _migrate(
    params: FrontendMigrationParams,
    plan: MigrationPlan,
    project: Project,
    extra: dict[str, bytes],
    report: MigrationReport,
) -> MigrationReport:
    """The journaled part: every change is undone if the run fails."""
    saga = undo.saga_id(project.id, str(flow_run.get_id() or time.time_ns()))
    settings = project_settings(plan.profile)
    production = params.production_url or f"https://{project.name}.vercel.app"
    report.production_url = production
    policy, probe = params.health.policy(), params.health.api_probe
    started = time.monotonic()
    promoted = False
    previous_id: DeploymentId | None = None
    try:
        t.write_config(saga, params.repo_path, params.app, plan.config_files)
        report.env_written = t.apply_env(saga, project.id, plan)
        deployment = t.deploy(
            project, params.repo_path, params.app, settings, extra, upload_dir(plan.profile)
        )
        ready = t.wait_ready(deployment.id, params.deploy_timeout_s)
        report.deployment_id, report.preview_url = ready.id, f"https://{ready.url}"
        report.deploy_s = round(time.monotonic() - started, 2)
        site = plan.site_path
        preview = t.release_gate(
            report.preview_url, policy, "preview", None, plan.api_prefixes, probe, site
        )
        report.gate = list(preview.lines)
        previous_id = t.production_deployment(project.id)
        gate = undo.gate_record(production, preview.fingerprint, plan.api_prefixes, probe, site)
        promoted = t.promote(saga, project.id, ready.id, previous_id, gate)
        verified = t.release_gate(
            production, policy, "production", preview.fingerprint, plan.api_prefixes, probe, site
        )
        report.gate += verified.lines
        t.complete(saga)
    except Exception as error:
        return _roll_back(params, plan.api_prefixes, saga, report, error, (promoted, previous_id))
    report.outcome = RunOutcome.MIGRATED
    _publish(report)
    return report


def _roll_back(
    params: FrontendMigrationParams,
    prefixes: tuple[str, ...],
    saga: str,
    report: MigrationReport,
    error: Exception,
    promotion: tuple[bool, DeploymentId | None],
) -> MigrationReport:
    """The run failed: undo its journaled steps, verify production, tell people."""
    logger = get_run_logger()
    promoted, previous_id = promotion
    report.error = f"{type(error).__name__}: {error}"
    what = f"{params.app} on Vercel project {params.project}"
    try:
        undone = t.compensate(saga)
    except RollbackFailed as failed:
        report.outcome = RunOutcome.ROLLBACK_FAILED
        report.rollback += [f"still to undo: {step}" for step in failed.open_steps]
        _publish(report)
        send_notice(rollback_failed(what, report.error, failed.open_steps))
        logger.error("migration of %s failed and its rollback did not finish", params.app)
        return final_state(
            Failed(name="RollbackFailed", message=str(failed), data=failed), MigrationReport
        )
    report.rollback += [step.line() for step in undone]
    # A promote that answered an error may still have taken effect, and been undone now.
    promoted = promoted or any(s.step == undo.PROMOTE_STEP and s.changed for s in undone)
    report.outcome = RunOutcome.ROLLED_BACK if promoted else RunOutcome.FAILED_BEFORE_PROMOTION
    healthy = None
    if promoted:
        healthy = _verify_rollback(report, params, prefixes)
        send_notice(
            rollback_ran(
                what,
                report.error,
                f"deployment {previous_id}" if previous_id else None,
                healthy=healthy,
            )
        )
    _publish(report)
    logger.error("migration of %s failed: %s", params.app, report.error)
    if not promoted:
        return final_state(Failed(message=report.error, data=error), MigrationReport)
    rolled_back = RolledBack(
        f"{params.app}: {report.error}; rolled back: " + "; ".join(report.rollback),
        restored=bool(healthy),
    )
    rolled_back.__cause__ = error
    return final_state(
        Failed(name="RolledBack", message=str(rolled_back), data=rolled_back), MigrationReport
    )


def _verify_rollback(
    report: MigrationReport, params: FrontendMigrationParams, prefixes: tuple[str, ...]
) -> bool:
    """After an automatic rollback, production must answer healthy again."""
    production = report.production_url or ""
    api_probe = params.health.api_probe
    try:
        t.release_gate(
            production, params.health.policy(), "after rollback", None, prefixes, api_probe
        )
    except HealthCheckFailed as error:
        report.rollback.append(f"production still unhealthy after rollback: {error}")
        return False
    report.rollback.append(f"production healthy again at {production}")
    return True


def _publish(report: MigrationReport) -> None:
    markdown = frontend_report(report.model_dump())
    create_markdown_artifact(markdown, key=artifact_key("frontend", report.app))
    # A link artifact: the UI lists it with the run, one click to what this run deployed.
    for where, url in (("production", report.production_url), ("preview", report.preview_url)):
        if url:
            create_link_artifact(
                url,
                link_text=f"{report.app} {where}: {url}",
                key=artifact_key("frontend", report.app, where),
                description=f"{report.app}, {where} deployment ({report.outcome})",
            )
