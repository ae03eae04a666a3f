"""The roadmap's own steps beside the tracks' flows: digests of the trees a phase reads
(its cache inputs), the workflows phases 1C and 2B write, the report, the state backup
(2C), and the PhaseResult every phase reports.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from pydantic import BaseModel, Field

from orchestra_ops.adapters.files import write_atomically
from orchestra_ops.adapters.pulumi.ci import find_pulumi_projects
from orchestra_ops.domain.frontend.workflow import deploy_frontends_workflow
from orchestra_ops.domain.infrastructure_workflow import ci_coverage, infrastructure_workflow
from orchestra_ops.domain.outcomes import PhaseState
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError, StackNotFound, ToolMissing
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.run_names import named

_SKIP_DIRS = {"node_modules", ".git", "dist", ".next", ".venv", "__pycache__"}


class PhaseResult(BaseModel):
    """One phase of the roadmap: how it ended, how long it took, what it produced."""

    phase: str
    state: PhaseState
    duration_s: float
    detail: str = ""
    links: list[str] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    cached: bool = Field(False, description="done by an earlier run: this run looked it up")


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


#: Stack config keys the provisioning flow itself moves (blue-green); not an input change.
_ROLLOUT_KEYS = ("colours", "active_colour")


def infrastructure_digest(root: Path) -> str:
    """A digest of the Pulumi projects under ``root``, blind to the blue-green bookkeeping.

    Provisioning sets ``colours``/``active_colour`` in the stack files (and the engine may
    reformat them); stack files are digested by their meaning, without those keys, so a
    finished provisioning is not new input to the next run.
    """
    hasher = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if any(part in _SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        data = path.read_bytes()
        if path.name.startswith("Pulumi.") and path.name != "Pulumi.yaml":
            data = _stack_config_meaning(data)
        hasher.update(path.relative_to(root).as_posix().encode() + b"\0")
        hasher.update(hashlib.sha256(data).digest())
    return hasher.hexdigest()[:32]


def _stack_config_meaning(data: bytes) -> bytes:
    try:
        config = (load_yaml(data, "stack config", typ="safe") or {}).get("config") or {}
    except (ConfigError, AttributeError):
        return data  # the flow reading it reports the error, naming the file
    meaning = {
        key: _decoded(value)
        for key, value in config.items()
        if key.rpartition(":")[2] not in _ROLLOUT_KEYS
    }
    return json.dumps(meaning, sort_keys=True, default=str).encode()


def _decoded(value: object) -> object:
    """``'["a"]'`` and ``["a"]`` mean the same to a program reading config."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class DigestMemo:
    """Which tree states a finished roadmap left behind, mapped to the inputs it started from.

    Phases write into the trees their cache keys digest (vercel.json, workflows, update
    configuration). Once a run has finished, the tree it leaves is recorded as equivalent
    to the tree it started from, so the next run finds its cached phases instead of
    redoing them. Only completed phases are recorded.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._seen: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._seen = {}

    def inputs(self, phase: str, digest: str) -> str:
        """The digest a phase's cache key uses for a tree now digesting to ``digest``."""
        return self._seen.get(f"{phase}@{digest}", digest)

    def record(self, phase: str, left: str, started_from: str) -> None:
        """After ``phase`` completed: the tree it left stands for the one it started from."""
        self._seen[f"{phase}@{left}"] = started_from

    def save(self) -> None:
        """Write the memo atomically."""
        write_atomically(self._path, json.dumps(self._seen, indent=1, sort_keys=True))


def completed_phase(phase: str, started: float, **fields: Any) -> PhaseResult:
    """A completed phase, timed from ``started`` (a ``time.monotonic()`` reading)."""
    return PhaseResult(
        phase=phase,
        state=PhaseState.COMPLETED,
        duration_s=round(time.monotonic() - started, 2),
        **fields,
    )


#: A phase: cached by its inputs (a failed one is not), its result kept for the next run.
phase_task = task(cache_policy=INPUTS + TASK_SOURCE, persist_result=True)


@named("write_deploy_workflow[{phase}]")
@phase_task
def write_deploy_workflow(phase: str, repo_path: str, apps: dict[str, str]) -> PhaseResult:
    """Phase 1C: the deploy-frontends workflow, once both apps are live."""
    started = time.monotonic()
    target = Path(repo_path) / ".github" / "workflows" / "deploy-frontends.yml"
    changed = _write_if_changed(target, deploy_frontends_workflow(apps))
    return completed_phase(
        phase,
        started,
        detail=f"{target.relative_to(repo_path)} {'written' if changed else 'up to date'}",
    )


@named("write_infrastructure_workflow[{phase}]")
@task(cache_policy=NO_CACHE, persist_result=False)  # reads the repo's projects every time
def write_infrastructure_workflow(phase: str, repo_path: str) -> PhaseResult:
    """Phase 2B: the infrastructure-ci workflow for the repo's own Pulumi projects, in
    dependency order; what it cannot run is named (skipped when that is all of them)."""
    started = time.monotonic()
    target = Path(repo_path) / ".github" / "workflows" / "infrastructure-ci.yml"
    projects = find_pulumi_projects(Path(repo_path))
    covered, left_out = ci_coverage(projects)
    missing = "; ".join(f"{directory}: {why}" for directory, why in left_out)
    metrics = {"projects_covered": len(covered), "projects_not_covered": len(left_out)}
    if not covered:
        found = f"none of its {len(projects)} Pulumi projects" if projects else "no Pulumi project"
        return PhaseResult(
            phase=phase,
            state=PhaseState.SKIPPED,
            duration_s=round(time.monotonic() - started, 2),
            detail=f"no workflow written: {found} can run in CI"
            + (f" ({missing})" if missing else ""),
            metrics=metrics,
        )
    changed = _write_if_changed(target, infrastructure_workflow(covered, left_out=left_out))
    detail = (
        f"{target.relative_to(repo_path)} {'written' if changed else 'up to date'}: runs "
        + ", ".join(p.directory for p in covered)
    )
    if left_out:
        detail += f"; not covered: {missing}"
    return completed_phase(phase, started, detail=detail, metrics=metrics)


def _write_if_changed(target: Path, text: str) -> bool:
    changed = not target.exists() or target.read_text(encoding="utf-8") != text
    if changed:
        write_atomically(target, text)
    return changed


@named("write_report[{path}]")
@task(cache_policy=NO_CACHE, persist_result=False)
def write_report(path: str, text: str) -> None:
    """The roadmap report's JSON, written whole (a reader never sees half of it)."""
    write_atomically(Path(path), text)


@named("back_up_state[{phase}]")
@task(cache_policy=NO_CACHE, persist_result=False)
def back_up_state(phase: str, infrastructure_dir: str, environments: list[str]) -> PhaseResult:
    """Phase 2C: a state backup of every provisioned stack, kept 0600 in the state dir."""
    started = time.monotonic()
    settings = load_settings()
    folder = settings.runtime.state_dir / "state-backups"
    folder.mkdir(parents=True, exist_ok=True)
    written, absent = [], []
    try:
        engine = for_process(settings).stack_engine()
    except ToolMissing as missing:
        return PhaseResult(
            phase=phase, state=PhaseState.SKIPPED, duration_s=0.0, detail=str(missing)
        )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for environment in environments:
        for project in ("shared", "backend"):
            try:  # a backup reads: a stack never provisioned is not made to back it up
                ref = engine.select(Path(infrastructure_dir) / project, environment)
            except StackNotFound:
                absent.append(f"{project}/{environment}")
                continue
            target = folder / f"{project}-{environment}-{stamp}.json"
            write_atomically(target, engine.export(ref), private=True)
            written.append(target.name)
    backend = settings.pulumi.backend_url or (
        "Pulumi Cloud" if settings.pulumi.access_token else "local file backend"
    )
    none_yet = f"; not provisioned, so not backed up: {', '.join(absent)}" if absent else ""
    return completed_phase(
        phase,
        started,
        detail=f"state in {backend}; {len(written)} stack backups in {folder}{none_yet}",
        links=[str(folder / name) for name in written],
    )
