"""Scan a repository: every applicable tool on every manifest, concurrently, then merge.

Each (tool, manifest) run is one subprocess; a thread pool bounds how many run at once.
A tool failing on one manifest does not stop the others: it becomes a
:class:`~orchestra_ops.domain.security.scan.ToolFailure` in the result, and the gate
fails on it. pip-audit findings get their severity from the OSV API afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from orchestra_ops.adapters.scanners.discover import discover
from orchestra_ops.adapters.scanners.npm_audit import NpmAuditRunner
from orchestra_ops.adapters.scanners.osv import OsvClient, enrich
from orchestra_ops.adapters.scanners.pip_audit import PipAuditRunner
from orchestra_ops.adapters.scanners.safety import SafetyRunner
from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.manifests import npm_lock_versions
from orchestra_ops.domain.security.normalise import from_npm_audit, from_pip_audit, from_safety
from orchestra_ops.domain.security.scan import (
    Component,
    Manifest,
    ScanResult,
    ToolFailure,
    ToolOutcome,
    combine,
    components_of,
    lock_lines,
    requirement_lines,
)
from orchestra_ops.errors import OpsError
from orchestra_ops.settings import ScanSettings

ALL_TOOLS = frozenset({"pip-audit", "safety", "npm-audit"})


@dataclass(frozen=True)
class _Job:
    tool: str
    manifest: Manifest
    path: Path
    text: str


class _Runners:
    """The three runners, each with its own work directory."""

    def __init__(self, settings: ScanSettings, workdir: Path, timeout_s: float) -> None:
        self.pip_audit = PipAuditRunner.from_settings(
            settings, workdir / "pip-audit", timeout_s=timeout_s
        )
        self.safety = SafetyRunner.from_settings(settings, workdir / "safety", timeout_s=timeout_s)
        self.npm = NpmAuditRunner.from_settings(settings, workdir / "npm", timeout_s=timeout_s)

    def run(self, job: _Job) -> ToolOutcome:
        """One tool on one manifest; an OpsError becomes the outcome's failure."""
        name = job.manifest.path
        try:
            findings = self._findings(job)
        except OpsError as error:
            return ToolOutcome(job.tool, name, failure=str(error))
        return ToolOutcome(job.tool, name, findings=tuple(findings))

    def _findings(self, job: _Job) -> list[Finding]:
        name = job.manifest.path
        if job.tool == "pip-audit":
            report = self.pip_audit.audit(job.path, name)
            return from_pip_audit(report, name, requirement_lines(job.text, name))
        if job.tool == "safety":
            report = self.safety.audit(job.path, name)
            return from_safety(report, name, requirement_lines(job.text, name))
        versions = npm_lock_versions(job.text, name)
        report = self.npm.audit(job.path, name)
        return from_npm_audit(report, name, versions, lock_lines(job.text, versions))


def _read(repo: Path, manifests: list[Manifest]) -> tuple[dict[str, str], list[ToolOutcome]]:
    texts, unreadable = {}, []
    for manifest in manifests:
        try:
            texts[manifest.path] = (repo / manifest.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read {manifest.path}: {error}"
            unreadable += [
                ToolOutcome(tool, manifest.path, failure=message) for tool in manifest.kind.tools
            ]
    return texts, unreadable


def _components(manifests: list[Manifest], texts: dict[str, str]) -> list[Component]:
    found: list[Component] = []
    for manifest in manifests:
        if manifest.path in texts:
            try:
                found += components_of(manifest, texts[manifest.path])
            except OpsError:
                continue  # the tool run on this manifest reports the same problem
    return found


def _enriched(
    result: ScanResult, osv_url: str, transport: httpx.BaseTransport | None
) -> ScanResult:
    try:
        with OsvClient(osv_url, transport=transport) as client:
            findings = enrich(list(result.findings), client)
    except OpsError as error:
        failure = ToolFailure("osv", "(severity lookup)", str(error))
        return replace(result, failures=(*result.failures, failure))
    return replace(result, findings=tuple(findings))


def scan_repo(
    repo: Path,
    settings: ScanSettings,
    workdir: Path,
    max_concurrency: int = 4,
    *,
    tools: Collection[str] = ALL_TOOLS,
    timeout_s: float = 120.0,
    osv_transport: httpx.BaseTransport | None = None,
    on_done: Callable[[ToolOutcome], Any] | None = None,
) -> ScanResult:
    """Scan every manifest of ``repo`` with every applicable tool in ``tools``."""
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    manifests, unsupported = discover(repo)
    texts, outcomes = _read(repo, manifests)
    jobs = [
        _Job(tool, m, repo / m.path, texts[m.path])
        for m in manifests
        if m.path in texts
        for tool in m.kind.tools
        if tool in tools
    ]
    runners = _Runners(settings, workdir, timeout_s)
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="scan") as pool:
        for outcome in pool.map(runners.run, jobs):
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome)
    result = combine(manifests, outcomes, unsupported, _components(manifests, texts))
    return _enriched(result, settings.osv_api_url, osv_transport)
