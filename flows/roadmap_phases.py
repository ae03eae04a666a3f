"""Roadmap phases as tasks: each runs one track's flow and reports a PhaseResult.

A phase that completes is cached by its inputs (which include a digest of the files it
reads), so re-running the roadmap resumes after the last completed phase and a warm
re-run makes no API call at all. A phase that fails is not cached. The roadmap's steps
that run no track (digests, workflows, the report, the state backup) are in
:mod:`tasks.roadmap`.
"""

from __future__ import annotations

import time

from flows.frontend_migration import FrontendMigrationParams, frontend_migration
from flows.lambda_provisioning import lambda_provisioning
from flows.params import ProvisioningParams
from flows.security_scan import SecurityScanParams, security_scan
from flows.stack_reorganisation import ReorgParams, stack_reorganisation
from orchestra_ops.domain.outcomes import PhaseState, RunOutcome
from orchestra_ops.errors import ToolMissing
from tasks.roadmap import PhaseResult, completed_phase, phase_task
from tasks.run_names import named


@named("migrate_app[{phase}]")
@phase_task
def migrate_app(phase: str, params: FrontendMigrationParams, source_digest: str) -> PhaseResult:
    """Phases 1A / 1B: one frontend app to Vercel."""
    started = time.monotonic()
    report = frontend_migration(params)
    return completed_phase(
        phase,
        started,
        detail=f"{report.app}: {report.outcome}",
        links=[u for u in (report.preview_url, report.production_url) if u],
        metrics={
            "deploy_s": report.deploy_s,
            "rolled_back": report.outcome is RunOutcome.ROLLED_BACK,
            "preflight": report.preflight,
        },
    )


@named("secure[{phase}]")
@phase_task
def secure(phase: str, params: SecurityScanParams, source_digest: str) -> PhaseResult:
    """Phases 3A-3C: update configuration and the security gate."""
    started = time.monotonic()
    summary = security_scan(params)
    return completed_phase(
        phase,
        started,
        detail=(
            f"{summary.findings} findings, {summary.failing} at or above the threshold, "
            f"{summary.scan_errors} scan errors"
        ),
        links=list(summary.reports.values()),
        metrics={"failing": summary.failing, "passed": summary.passed},
    )


@named("reorganise[{phase}]")
@phase_task
def reorganise(phase: str, params: ReorgParams, source_digest: str) -> PhaseResult:
    """Phases 4A-4C: the Pulumi reorganisation (planned here; applied on request)."""
    started = time.monotonic()
    report = stack_reorganisation(params)
    detail = f"{report.operations} operations {report.outcome}"
    if report.action == "plan":
        detail += "; apply with the stack-reorganisation deployment (action=apply)"
    return completed_phase(
        phase,
        started,
        detail=detail,
        metrics={"pending_commands": len(report.pending_commands)},
    )


@named("provision[{phase}]")
@phase_task
def provision(phase: str, params: ProvisioningParams, infrastructure: str) -> PhaseResult:
    """Phase 2A: one environment's API instances, blue-green (skipped without an engine)."""
    started = time.monotonic()
    try:
        report = lambda_provisioning(params)
    except ToolMissing as missing:
        return PhaseResult(
            phase=phase, state=PhaseState.SKIPPED, duration_s=0.0, detail=str(missing)
        )
    return completed_phase(
        phase,
        started,
        detail=f"{params.environment}: {report.outcome}, "
        + (f"serving {report.serving_colour}" if report.serving_colour else "nothing serving"),
        links=[report.api_url] if report.api_url else [],
        metrics={"provision_s": report.duration_s, "instances": len(report.instance_ids)},
    )
