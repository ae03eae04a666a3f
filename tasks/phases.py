"""Roadmap phases as tasks: each runs one track's flow and reports a PhaseResult.

A phase that completes is cached by its inputs (which include a digest of the files it
reads), so re-running the roadmap resumes after the last completed phase and a warm
re-run makes no API call at all. A phase that fails is not cached.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from pydantic import BaseModel, Field

from flows.frontend_migration import FrontendMigrationParams, frontend_migration
from flows.security_scan import SecurityScanParams, security_scan
from flows.stack_reorganisation import ReorgParams, stack_reorganisation
from orchestra_ops.domain.frontend.workflow import deploy_frontends_workflow

_SKIP_DIRS = {"node_modules", ".git", "dist", ".next", ".venv", "__pycache__"}


class PhaseResult(BaseModel):
    """One phase of the roadmap: how it ended, how long it took, what it produced."""

    phase: str
    state: str  # completed | failed | skipped
    duration_s: float
    detail: str = ""
    links: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)


def tree_digest(root: Path) -> str:
    """A digest of every file under ``root`` (paths and bytes), build output excluded."""
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if any(part in _SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        if path.is_file() and not path.is_symlink():
            hasher.update(path.relative_to(root).as_posix().encode() + b"\0")
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()[:32]


def _completed(phase: str, started: float, **fields: Any) -> PhaseResult:
    """A completed phase, timed from ``started`` (a ``time.monotonic()`` reading)."""
    return PhaseResult(
        phase=phase, state="completed", duration_s=round(time.monotonic() - started, 2), **fields
    )


phase_task = task(cache_policy=INPUTS + TASK_SOURCE, persist_result=True)


@phase_task
def migrate_app(phase: str, params: FrontendMigrationParams, source_digest: str) -> PhaseResult:
    """Phases 1A / 1B: one frontend app to Vercel."""
    started = time.monotonic()
    report = frontend_migration(params)
    return _completed(
        phase,
        started,
        detail=f"{report.app}: {report.outcome}",
        links=[u for u in (report.preview_url, report.production_url) if u],
        metrics={"deploy_s": report.deploy_s, "rolled_back": report.outcome == "rolled-back"},
    )


@phase_task
def write_deploy_workflow(phase: str, repo_path: str, apps: dict[str, str]) -> PhaseResult:
    """Phase 1C: the deploy-frontends workflow, once both apps are live."""
    started = time.monotonic()
    target = Path(repo_path) / ".github" / "workflows" / "deploy-frontends.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = deploy_frontends_workflow(apps)
    changed = not target.exists() or target.read_text(encoding="utf-8") != text
    if changed:
        target.write_text(text, encoding="utf-8")
    return _completed(
        phase,
        started,
        detail=f"{target.relative_to(repo_path)} {'written' if changed else 'up to date'}",
    )


@phase_task
def secure(phase: str, params: SecurityScanParams, source_digest: str) -> PhaseResult:
    """Phases 3A-3C: update configuration and the security gate."""
    started = time.monotonic()
    summary = security_scan(params)
    return _completed(
        phase,
        started,
        detail=(
            f"{summary.findings} findings, {summary.failing} at or above the threshold, "
            f"{summary.scan_errors} scan errors"
        ),
        links=list(summary.reports.values()),
        metrics={"failing": summary.failing, "passed": summary.passed},
    )


@phase_task
def reorganise(phase: str, params: ReorgParams, source_digest: str) -> PhaseResult:
    """Phases 4A-4C: the Pulumi reorganisation (planned here; applied on request)."""
    started = time.monotonic()
    report = stack_reorganisation(params)
    detail = f"{report.operations} operations {report.outcome}"
    if report.action == "plan":
        detail += "; apply with the stack-reorganisation deployment (action=apply)"
    return _completed(
        phase,
        started,
        detail=detail,
        metrics={"pending_commands": len(report.pending_commands)},
    )
