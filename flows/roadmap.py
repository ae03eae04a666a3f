"""The roadmap: the plan's three weeks as one DAG of phases with explicit dependencies.

Week 1: 1A admin interface and 1B dashboard in parallel, then 1C (the deploy workflow)
once both are live. Week 2: 2A-2C Lambda Labs provisioning. Week 3: 3A-3C dependency
security (independent of the others, so it runs alongside week 1), 4A-4C the Pulumi
reorganisation. Last, an integration check of what is live. Child states are checked,
never assumed: a failed phase fails the roadmap, and its dependents do not run.
Completed phases are cached by their inputs, so a re-run resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture
from pydantic import BaseModel, ConfigDict, Field

from flows.frontend_migration import FrontendMigrationParams
from flows.params import HealthParams, ProvisioningParams
from flows.roadmap_phases import migrate_app, provision, reorganise, secure
from flows.security_scan import SecurityScanParams
from flows.stack_reorganisation import ReorgAction, ReorgParams
from orchestra_ops.domain.notifications import phase_failed
from orchestra_ops.domain.outcomes import PhaseState
from orchestra_ops.domain.provisioning import ENVIRONMENTS, Environment
from orchestra_ops.domain.roadmap_metrics import success_metrics
from orchestra_ops.domain.run_markdown import roadmap_report
from orchestra_ops.errors import OpsError, RolledBack
from orchestra_ops.settings import load_settings
from tasks.notify import send_notice
from tasks.roadmap import (
    DigestMemo,
    PhaseResult,
    back_up_state,
    infrastructure_digest,
    tree_digest,
    write_deploy_workflow,
    write_infrastructure_workflow,
    write_report,
)


def _both_environments() -> list[Environment]:
    return list(ENVIRONMENTS)


class RoadmapParams(BaseModel):
    """The repository the roadmap works on and the choices of its three weeks; with
    "Plan only" every phase shows what it would change and changes nothing."""

    model_config = ConfigDict(extra="forbid", title="Roadmap")

    repo_path: str = Field(
        title="Repository path", description="the target repository, on the worker"
    )
    backend_api_url: str = Field(
        pattern=r"^https?://", title="Backend API URL", description="the backend API base"
    )
    admin_project: str = Field(
        "orchestra-admin", title="Admin Vercel project", description="Vercel project of 1A"
    )
    dashboard_project: str = Field(
        "orchestra-dashboard",
        title="Dashboard Vercel project",
        description="Vercel project of 1B",
    )
    plan_only: bool = Field(
        False, title="Plan only", description="every phase computes its plan, nothing changes"
    )
    security_gate_blocks: bool = Field(
        True,
        title="Security gate blocks",
        description="a failed security gate fails the roadmap",
    )
    health: HealthParams = Field(
        default_factory=HealthParams,
        title="Frontend health check",
        description="how each migrated frontend proves healthy (1A, 1B)",
    )
    environments: list[Environment] = Field(
        default_factory=_both_environments,
        title="Environments",
        description="2A provisions these, in this order (each after the one before)",
    )
    infrastructure_dir: str = Field(
        "infrastructure/pulumi",
        title="Pulumi projects directory",
        description="holds the shared and backend Pulumi projects (2A)",
    )
    instance_health: HealthParams = Field(
        default_factory=lambda: HealthParams(interval_s=2.0, budget_s=300.0, fail_fast_after=5),
        title="Instance health check",
        description="how each new API instance proves healthy (2A)",
    )
    report_path: str | None = Field(
        None, title="Report file", description="also write the report JSON here"
    )


class RoadmapReport(BaseModel):
    """Every phase's outcome and the plan's success metrics, measured."""

    state: PhaseState
    phases: list[PhaseResult]
    metrics: dict[str, dict[str, Any]]


def _frontend(
    params: RoadmapParams, app: str, project: str, api_var: str
) -> FrontendMigrationParams:
    return FrontendMigrationParams(
        repo_path=params.repo_path,
        app=app,
        project=project,
        backend_api_url=params.backend_api_url,
        env_overrides={api_var: params.backend_api_url},
        plan_only=params.plan_only,
        health=params.health,
    )


def _outcome(phase: str, future: PrefectFuture[PhaseResult], started: float) -> PhaseResult:
    """The phase's result, or a failed PhaseResult carrying the error (never assumed)."""
    value = future.result(raise_on_failure=False)
    if isinstance(value, PhaseResult):
        if future.state.name != "Cached":
            return value
        # The stored result carries the duration of the run that did the work; this run
        # only looked it up: its duration is the time until the cache answered.
        wall_start = time.time() - (time.monotonic() - started)
        looked_up = max(0.0, future.state.timestamp.timestamp() - wall_start)
        return value.model_copy(update={"cached": True, "duration_s": round(looked_up, 2)})
    detail = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else str(value)
    metrics = {"rolled_back": isinstance(value, RolledBack)}
    if isinstance(value, RolledBack):
        metrics["restored"] = value.restored
    return PhaseResult(
        phase=phase,
        state=PhaseState.FAILED,
        duration_s=round(time.monotonic() - started, 2),
        detail=detail,
        metrics=metrics,
    )


def _skipped(phase: str, why: str) -> PhaseResult:
    return PhaseResult(phase=phase, state=PhaseState.SKIPPED, duration_s=0.0, detail=why)


@flow(name="roadmap")
def roadmap(params: RoadmapParams) -> RoadmapReport:
    """Run every phase in dependency order (see the module docstring)."""
    logger = get_run_logger()
    started = time.monotonic()
    trees = _PhaseTrees(params)
    admin = migrate_app.submit(
        "1A admin interface",
        _frontend(params, "admin-interface", params.admin_project, "VITE_API_URL"),
        trees.inputs("1A admin interface"),
    )
    dashboard = migrate_app.submit(
        "1B dashboard",
        _frontend(params, "dashboard", params.dashboard_project, "NEXT_PUBLIC_API_URL"),
        trees.inputs("1B dashboard"),
    )
    security = secure.submit(
        "3A-3C dependency security",
        SecurityScanParams(
            repo_path=params.repo_path,
            write_update_config=not params.plan_only,
            fail_on_findings=params.security_gate_blocks and not params.plan_only,
        ),
        trees.inputs("3A-3C dependency security"),
    )
    reorganisation = reorganise.submit(
        "4A-4C pulumi reorganisation",
        ReorgParams(repo_path=params.repo_path, action=ReorgAction.PLAN),
        trees.inputs("4A-4C pulumi reorganisation"),
    )
    # Week 2 runs its own chain here while week 1, 3 and 4 proceed on the task runner.
    week2 = _week2(params, started, trees)
    week1 = [
        _outcome("1A admin interface", admin, started),
        _outcome("1B dashboard", dashboard, started),
    ]
    if params.plan_only:
        deploy_workflow = _skipped("1C deploy workflow", "plan mode")
    elif all(p.state == PhaseState.COMPLETED for p in week1):
        deploy_workflow = write_deploy_workflow(
            "1C deploy workflow",
            params.repo_path,
            {
                "admin-interface": "VERCEL_ADMIN_PROJECT_ID",
                "dashboard": "VERCEL_DASHBOARD_PROJECT_ID",
            },
        )
    else:
        deploy_workflow = _skipped("1C deploy workflow", "1A or 1B did not complete")
    phases = [
        *week1,
        deploy_workflow,
        *week2,
        _outcome("3A-3C dependency security", security, started),
        _outcome("4A-4C pulumi reorganisation", reorganisation, started),
    ]
    if not params.plan_only:
        trees.remember([p.phase for p in phases if p.state == PhaseState.COMPLETED])
    failed = [p for p in phases if p.state == PhaseState.FAILED]
    metrics = success_metrics([p.model_dump() for p in phases])
    report = RoadmapReport(
        state=PhaseState.FAILED if failed else PhaseState.COMPLETED, phases=phases, metrics=metrics
    )
    _publish(report, params.report_path)
    if failed:
        names = ", ".join(p.phase for p in failed)
        logger.error("roadmap failed in: %s", names)
        for phase in failed:
            send_notice(phase_failed(phase.phase, phase.detail))
        raise OpsError(f"roadmap phases failed: {names}")
    return report


class _PhaseTrees:
    """The tree each phase reads, digested for its cache key (see DigestMemo).

    Phases that read the same tree share one digest per pass (at the start, at the end).
    """

    def __init__(self, params: RoadmapParams) -> None:
        repo = Path(params.repo_path)
        infrastructure = (infrastructure_digest, Path(params.infrastructure_dir))
        self._trees: dict[str, tuple[Callable[[Path], str], Path]] = {
            "1A admin interface": (tree_digest, repo / "admin-interface"),
            "1B dashboard": (tree_digest, repo / "dashboard"),
            "3A-3C dependency security": (tree_digest, repo),
            "4A-4C pulumi reorganisation": (tree_digest, repo),
            **{f"2A lambda {env}": infrastructure for env in params.environments},
        }
        self._memo = DigestMemo(load_settings().runtime.state_dir / "roadmap" / "trees.json")
        self._at_start: dict[tuple[Callable[[Path], str], Path], str] = {}
        self._started: dict[str, str] = {}

    def inputs(self, phase: str) -> str:
        """The digest the phase's cache key takes for its tree as it is now."""
        tree = self._trees[phase]
        if tree not in self._at_start:
            self._at_start[tree] = tree[0](tree[1])
        self._started[phase] = self._memo.inputs(phase, self._at_start[tree])
        return self._started[phase]

    def remember(self, completed: list[str]) -> None:
        """The trees these completed phases leave stand for the ones they started from."""
        at_end: dict[tuple[Callable[[Path], str], Path], str] = {}
        for phase in completed:
            if phase in self._started:
                tree = self._trees[phase]
                if tree not in at_end:
                    at_end[tree] = tree[0](tree[1])
                self._memo.record(phase, at_end[tree], self._started[phase])
        self._memo.save()


def _week2(params: RoadmapParams, started: float, trees: _PhaseTrees) -> list[PhaseResult]:
    """2A: each environment after the one before; then 2B and 2C."""
    phases: list[PhaseResult] = []
    for environment in params.environments:
        phase = f"2A lambda {environment}"
        if phases and phases[-1].state != PhaseState.COMPLETED:
            phases.append(_skipped(phase, f"{phases[-1].phase} did not complete"))
            continue
        request = ProvisioningParams(
            environment=environment,
            dry_run=params.plan_only,
            health=params.instance_health,
            infrastructure_dir=params.infrastructure_dir,
        )
        digest = trees.inputs(phase)
        phases.append(_outcome(phase, provision.submit(phase, request, digest), started))
    if params.plan_only:
        return [*phases, _skipped("2B infrastructure workflow", "plan mode")]
    if not all(p.state == PhaseState.COMPLETED for p in phases):
        return [*phases, _skipped("2B infrastructure workflow", "2A did not complete")]
    return [
        *phases,
        write_infrastructure_workflow("2B infrastructure workflow", params.repo_path),
        back_up_state("2C state backup", params.infrastructure_dir, list(params.environments)),
    ]


def _publish(report: RoadmapReport, path: str | None) -> None:
    phases = [p.model_dump() for p in report.phases]
    markdown = roadmap_report(report.state, phases, report.metrics)
    create_markdown_artifact(markdown, key="roadmap-report")
    if path:
        write_report(path, report.model_dump_json(indent=2) + "\n")
