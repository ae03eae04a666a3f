"""Scan a repository: every applicable tool on every manifest, concurrently, then merge.

Each (tool, manifest) run is one subprocess, except safety: one run over the manifests'
files, up to :data:`SAFETY_FILES_PER_RUN` of them (it names the file of each finding); a
thread pool bounds how many run at once.
A tool failing on one manifest does not stop the others: it becomes a
:class:`~orchestra_ops.domain.security.scan.ToolFailure` in the result, and the gate
fails on it. pip-audit findings get their severity from the OSV API afterwards.
:class:`ToolScanner` is the :class:`~orchestra_ops.ports.scanner.Scanner` port over it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from orchestra_ops.adapters.scanners.discover import discover, read_manifest
from orchestra_ops.adapters.scanners.normalise import from_npm_audit, from_pip_audit, from_safety
from orchestra_ops.adapters.scanners.npm_audit import NpmAuditRunner
from orchestra_ops.adapters.scanners.osv import OsvClient, enrich
from orchestra_ops.adapters.scanners.pip_audit import PipAuditRunner
from orchestra_ops.adapters.scanners.prepare import Prepared, prepare
from orchestra_ops.adapters.scanners.safety import SafetyRunner
from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.scan import (
    Manifest,
    ScanResult,
    ToolFailure,
    ToolOutcome,
    combine,
    components_of,
)
from orchestra_ops.errors import OpsError, ScanError
from orchestra_ops.settings import ScanSettings

ALL_TOOLS = frozenset({"pip-audit", "safety", "npm-audit"})
#: Requirements files one safety run is given at most (it opens them all at once).
SAFETY_FILES_PER_RUN = 100


@dataclass(frozen=True)
class _Job:
    tool: str
    prepared: tuple[Prepared, ...]  # one manifest; safety: a batch of them, in one run


def _merged(reports: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """One report from several runs (a manifest pinning a name twice runs in batches)."""
    merged = dict(reports[0])
    merged[key] = [item for report in reports for item in report.get(key) or []]
    return merged


class _Runners:
    """The three runners, each with its own work directory."""

    def __init__(self, settings: ScanSettings, workdir: Path, timeout_s: float) -> None:
        self.pip_audit = PipAuditRunner.from_settings(
            settings, workdir / "pip-audit", timeout_s=timeout_s
        )
        self.safety = SafetyRunner.from_settings(settings, workdir / "safety", timeout_s=timeout_s)
        self.npm = NpmAuditRunner.from_settings(settings, workdir / "npm", timeout_s=timeout_s)

    def run(self, job: _Job) -> list[ToolOutcome]:
        """One tool on its manifests; an OpsError becomes each manifest's failure."""
        try:
            if job.tool == "safety":
                return self._safety(job.prepared)
            (prepared,) = job.prepared
            findings = tuple(self._findings(job.tool, prepared))
        except OpsError as error:
            said = _named(str(error), job.prepared)
            return [ToolOutcome(job.tool, p.manifest.path, failure=said) for p in job.prepared]
        return [ToolOutcome(job.tool, prepared.manifest.path, findings=findings)]

    def _findings(self, tool: str, prepared: Prepared) -> list[Finding]:
        name = prepared.manifest.path
        if tool == "pip-audit":
            reports = [self.pip_audit.audit(path, name) for path in prepared.inputs]
            return from_pip_audit(_merged(reports, "dependencies"), name, prepared.lines())
        report = self.npm.audit(prepared.inputs[0], name)
        return from_npm_audit(report, name, prepared.nodes, prepared.node_lines)

    def _safety(self, batch: tuple[Prepared, ...]) -> list[ToolOutcome]:
        """One safety run over the inputs of ``batch``; each finding goes back to the
        manifest whose input it was found in. A finding in no given file fails them all;
        a manifest whose input safety did not read fails alone."""
        owners = {path.resolve(): p for p in batch for path in p.inputs}
        names = [p.manifest.path for p in batch]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        label = names[0] if len(names) == 1 else f"{len(names)} manifests ({shown}), one run"
        report = self.safety.audit_all(list(owners), label)
        found = _placed(report, owners, label)
        read = _read_files(report)
        outcomes = []
        for p in batch:
            name = p.manifest.path
            if any(path.resolve() not in read for path in p.inputs):
                said = f"safety did not read {name} (its report does not list it): not checked"
                outcomes.append(ToolOutcome("safety", name, failure=said))
                continue
            findings = from_safety({"vulnerabilities": found.get(name, [])}, name, p.lines())
            outcomes.append(ToolOutcome("safety", name, findings=tuple(findings)))
        return outcomes


def _placed(
    report: dict[str, Any], owners: dict[Path, Prepared], label: str
) -> dict[str, list[Any]]:
    """safety's findings by the manifest whose input each was found in (its ``found``)."""
    vulns = report.get("vulnerabilities")
    if not isinstance(vulns, list):
        raise ScanError(f"safety report for {label} has no vulnerabilities list")
    found: dict[str, list[Any]] = {}
    for vuln in vulns:
        requirement = vuln.get("analyzed_requirement") if isinstance(vuln, dict) else None
        where = requirement.get("found") if isinstance(requirement, dict) else None
        owner = owners.get(Path(str(where)).resolve()) if where else None
        if owner is None:
            said = f"in {where}, not a file it was given" if where else "without its file"
            raise ScanError(f"safety reported a finding {said}: it cannot be placed in {label}")
        found.setdefault(owner.manifest.path, []).append(vuln)
    return found


def _read_files(report: dict[str, Any]) -> set[Path]:
    """The files safety's report says it read (``report_meta.scanned_full_path``)."""
    meta = report.get("report_meta")
    read = meta.get("scanned_full_path") if isinstance(meta, dict) else None
    return {Path(str(path)).resolve() for path in read} if isinstance(read, list) else set()


def _named(message: str, batch: tuple[Prepared, ...]) -> str:
    """``message`` with each generated input's path replaced by its manifest's name."""
    for prepared in batch:
        for path in prepared.inputs:
            for spelling in {str(path), str(path.resolve())}:
                message = message.replace(spelling, f"{prepared.manifest.path} (pins)")
    return message


def _batches(ready: list[Prepared], files: int) -> list[tuple[Prepared, ...]]:
    """``ready`` in batches of at most ``files`` inputs (a manifest's inputs stay together):
    safety opens every file it is given at start, within the process's open-file limit."""
    batches: list[list[Prepared]] = [[]]
    held = 0  # inputs in the last batch
    for prepared in ready:
        if batches[-1] and held + len(prepared.inputs) > files:
            batches.append([])
            held = 0
        batches[-1].append(prepared)
        held += len(prepared.inputs)
    return [tuple(batch) for batch in batches if batch]


def _prepare(
    repo: Path, manifests: list[Manifest], workdir: Path
) -> tuple[list[Prepared], list[ToolOutcome]]:
    ready, failed = [], []
    for manifest in manifests:
        try:
            text = read_manifest(repo / manifest.path)
        except (OSError, ValueError) as error:
            message = f"cannot read {manifest.path}: {error}"
            failed += [ToolOutcome(t, manifest.path, failure=message) for t in manifest.kind.tools]
            continue
        try:
            ready.append(prepare(repo, manifest, text, workdir / "inputs"))
        except OSError as error:
            message = f"cannot prepare {manifest.path} for its scanners: {error}"
            failed += [ToolOutcome(t, manifest.path, failure=message) for t in manifest.kind.tools]
        except OpsError as error:
            failed += [
                ToolOutcome(t, manifest.path, failure=str(error)) for t in manifest.kind.tools
            ]
    return ready, failed


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
    ready, outcomes = _prepare(repo, manifests, workdir)
    jobs = [
        _Job(tool, (p,))
        for p in ready
        if p.inputs
        for tool in p.manifest.kind.tools
        if tool in tools and tool != "safety"
    ]
    audited_by_safety = [
        p for p in ready if p.inputs and "safety" in p.manifest.kind.tools and "safety" in tools
    ]
    # After pip-audit's: where both find a vulnerability, the merge keeps safety's text.
    jobs += [_Job("safety", batch) for batch in _batches(audited_by_safety, SAFETY_FILES_PER_RUN)]
    runners = _Runners(settings, workdir, timeout_s)
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="scan") as pool:
        for done in pool.map(runners.run, jobs):
            for outcome in done:
                outcomes.append(outcome)
                if on_done is not None:
                    on_done(outcome)
    components = [c for p in ready for c in components_of(p.manifest, p.packages)]
    unchecked = [u for p in ready for u in p.unchecked]
    result = combine(manifests, outcomes, unsupported, components, unchecked)
    return _enriched(result, settings.osv_api_url, osv_transport)


class ToolScanner:
    """The Scanner port: :func:`scan_repo` with the feeds of ``settings``, in a temporary
    work directory (private HOMEs, caches and generated inputs) removed after each scan."""

    def __init__(
        self,
        settings: ScanSettings,
        *,
        tools: Collection[str] = ALL_TOOLS,
        timeout_s: float = 120.0,
        osv_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.tools = tools
        self.timeout_s = timeout_s
        self.osv_transport = osv_transport

    def scan(self, repo: Path, *, max_concurrency: int = 4) -> ScanResult:
        """Every manifest of ``repo`` audited by every applicable tool."""
        with tempfile.TemporaryDirectory(prefix="orchestra-scan-") as work:
            return scan_repo(
                repo,
                self.settings,
                Path(work),
                max_concurrency,
                tools=self.tools,
                timeout_s=self.timeout_s,
                osv_transport=self.osv_transport,
            )
