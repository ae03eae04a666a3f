"""Track 1: move one frontend app from Docker to Vercel, health-gated, rolled back on failure.

Plan (artifact, no side effect) -> preflight build -> inside one transaction: config
files, env (snapshot, then upsert), deploy (or adopt the same source), preview health
gate, promote, production health gate. A failure before promotion leaves production
untouched; a failure after it rolls production back to the previous deployment,
restores the env snapshot and the config files, and probes production again.
Re-running with the same source and configuration makes no mutating API call.
"""

from __future__ import annotations

import time
from pathlib import PurePosixPath

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.transactions import transaction
from pydantic import BaseModel, Field, field_validator

from orchestra_ops.domain.frontend.migration import project_settings
from orchestra_ops.domain.health import HealthPolicy
from orchestra_ops.domain.notifications import rollback_ran
from orchestra_ops.errors import HealthCheckFailed, RolledBack
from orchestra_ops.ledger import Outcome
from tasks import frontend as t
from tasks.notify import send_notice
from tasks.policy import artifact_key


class HealthParams(BaseModel):
    """How a deployment proves healthy."""

    consecutive: int = Field(3, ge=1, le=50, description="good probes in a row to pass")
    interval_s: float = Field(1.0, gt=0, le=60, description="seconds between probes")
    budget_s: float = Field(60.0, gt=0, le=3600, description="give up after this long")
    latency_budget_s: float = Field(2.0, gt=0, le=60, description="slower answers count as bad")
    body_marker: str | None = Field(None, description="text a healthy page must contain")
    fail_fast_after: int | None = Field(
        2, ge=1, le=50, description="bad probes in a row that fail the gate at once"
    )

    def policy(self) -> HealthPolicy:
        """The domain policy."""
        return HealthPolicy(
            consecutive=self.consecutive,
            interval_s=self.interval_s,
            budget_s=self.budget_s,
            latency_budget_s=self.latency_budget_s,
            body_marker=self.body_marker,
            fail_fast_after=self.fail_fast_after,
        )


class FrontendMigrationParams(BaseModel):
    """Parameters of one app's migration (shown as a form in the Prefect UI)."""

    repo_path: str = Field(description="the target repository on the worker")
    app: str = Field(description="the app's directory in the repo, e.g. admin-interface")
    project: str = Field(description="Vercel project id or name (created when missing)")
    backend_api_url: str = Field(pattern=r"^https?://", description="where /api/* goes")
    env_overrides: dict[str, str] = Field(
        default_factory=dict, description="non-secret values; secrets: ORCHESTRA_SECRET_<KEY>"
    )
    preflight: bool = Field(True, description="build with the new config before deploying")
    include_build_output: bool = Field(
        True, description="upload the preflight output too (the sandbox edge serves it)"
    )
    plan_only: bool = Field(False, description="compute and publish the plan, change nothing")
    health: HealthParams = Field(default_factory=HealthParams)
    deploy_timeout_s: float = Field(600.0, gt=0, le=3600)
    production_url: str | None = Field(None, description="default https://<project>.vercel.app")

    @field_validator("app")
    @classmethod
    def _relative_app(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or not value.strip():
            raise ValueError("app must be a directory inside the repo, like admin-interface")
        return value

    @field_validator("env_overrides")
    @classmethod
    def _env_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not k.replace("_", "").isalnum() or k[:1].isdigit()]
        if bad:
            raise ValueError(f"not valid variable names: {bad}")
        return value


class MigrationReport(BaseModel):
    """What one app's migration did."""

    app: str
    outcome: str  # planned | migrated | failed-before-promotion | rolled-back
    project_id: str | None = None
    deployment_id: str | None = None
    preview_url: str | None = None
    production_url: str | None = None
    preflight: str = "not run"
    env_written: int = 0
    deploy_s: float | None = None
    rollback: list[str] = Field(default_factory=list)
    error: str | None = None


@flow(name="frontend-migration", log_prints=False)
def frontend_migration(params: FrontendMigrationParams) -> MigrationReport:
    """Migrate one frontend app to Vercel (see the module docstring)."""
    logger = get_run_logger()
    profile = t.detect(params.repo_path, params.app)
    settings = project_settings(profile)
    project = t.ensure_project(params.project, settings, create=not params.plan_only)
    plan = t.plan_app(
        params.repo_path,
        params.app,
        project.id if project else None,
        params.backend_api_url,
        params.env_overrides,
    )
    report = MigrationReport(app=params.app, outcome="planned", project_id=project and project.id)
    if params.plan_only or project is None:
        return report
    report.rollback = t.recover_project(project.id)
    extra: dict[str, bytes] = {}
    if params.preflight:
        built = t.check_build(params.repo_path, plan)
        report.preflight = f"{built.status}: {built.detail}"
        if params.include_build_output:
            extra = built.output
    production = params.production_url or f"https://{project.name}.vercel.app"
    report.production_url = production
    policy = params.health.policy()
    started = time.monotonic()
    promoted = False
    previous_id: str | None = None
    try:
        with transaction():
            t.write_config(params.repo_path, params.app, plan.config_files)
            snapshot = t.snapshot_env(project.id)
            report.env_written = t.apply_env(project.id, plan, snapshot)
            digest_settings = {
                "framework": settings.framework,
                "buildCommand": settings.build_command,
                "outputDirectory": settings.output_directory,
            }
            deployment = t.deploy(
                project, params.repo_path, params.app, settings, extra, digest_settings
            )
            ready = t.wait_ready(deployment.id, params.deploy_timeout_s)
            report.deployment_id, report.preview_url = ready.id, f"https://{ready.url}"
            report.deploy_s = round(time.monotonic() - started, 2)
            t.health_gate(report.preview_url, policy, "preview")
            previous_id = t.production_deployment(project.id)
            intent = t.record_promote_intent(project.id, ready.id, previous_id)
            t.promote(project.id, ready.id, previous_id)
            promoted = previous_id != ready.id
            t.health_gate(production, policy, "production")
            t.close_intent(intent, Outcome.DONE, "production healthy")
    except Exception as error:
        report.error = f"{type(error).__name__}: {error}"
        if promoted:
            report.outcome = "rolled-back"
            t.close_intent(
                t.promote_intent_key(project.id, report.deployment_id or ""),
                Outcome.COMPENSATED,
                "rolled back in-process",
            )
            _verify_rollback(production, policy, report)
            _notify_rollback(project.name, report, previous_id)
        else:
            report.outcome = "failed-before-promotion"
        _publish(report)
        logger.error("migration of %s failed: %s", params.app, report.error)
        if promoted:
            restored = any("healthy again" in line for line in report.rollback)
            raise RolledBack(
                f"{params.app}: {report.error}; rolled back to the previous deployment; "
                + "; ".join(report.rollback),
                restored=restored,
            ) from error
        raise
    report.outcome = "migrated"
    _publish(report)
    return report


def _verify_rollback(production: str, policy: HealthPolicy, report: MigrationReport) -> None:
    """After an automatic rollback, production must be healthy again."""
    try:
        t.health_gate(production, policy, "production after rollback")
        report.rollback.append(f"production healthy again at {production}")
    except HealthCheckFailed as error:
        report.rollback.append(f"production still unhealthy after rollback: {error}")


def _notify_rollback(project: str, report: MigrationReport, restored: str | None) -> None:
    """Tell people production was rolled back, why, and to what (never fails the flow)."""
    healthy = any("healthy again" in line for line in report.rollback)
    send_notice(
        rollback_ran(
            f"{report.app} on Vercel project {project}",
            report.error or "production health gate failed",
            f"deployment {restored}" if restored else None,
            healthy=healthy,
        )
    )


def _publish(report: MigrationReport) -> None:
    lines = [f"# Frontend migration: {report.app}", "", f"**Outcome: {report.outcome}**", ""]
    for label, value in (
        ("project", report.project_id),
        ("deployment", report.deployment_id),
        ("preview", report.preview_url),
        ("production", report.production_url),
        ("preflight build", report.preflight),
        ("env variables written", report.env_written),
        ("deploy time (s)", report.deploy_s),
        ("error", report.error),
    ):
        if value is not None:
            lines.append(f"- {label}: {value}")
    if report.rollback:
        lines += ["", "## Rollback and recovery", *[f"- {line}" for line in report.rollback]]
    create_markdown_artifact("\n".join(lines) + "\n", key=artifact_key("frontend", report.app))
