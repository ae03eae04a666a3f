"""One scan of a repository: the manifests, what each tool found or why it failed.

Pure: :func:`combine` merges per-tool, per-manifest outcomes into a :class:`ScanResult`
(findings deduplicated across tools, failures kept per tool and manifest, candidates not
scanned listed by name, lines no scanner checks listed by manifest and line).
:func:`manifest_statuses` gives every candidate manifest one status line for the reports.
The gate fails on any failure: a scan that could not run is never a clean one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from orchestra_ops.domain.redaction import redact_urls
from orchestra_ops.domain.security.findings import Ecosystem, Finding, deduplicate
from orchestra_ops.domain.security.manifests import (
    LockedPackage,
    Unchecked,
)
from orchestra_ops.domain.security.policy import Policy, Verdict, evaluate


class ManifestKind(StrEnum):
    """What a manifest is, and so which tools read it."""

    REQUIREMENTS = "requirements"
    NPM_LOCK = "npm-lock"
    PYTHON_LOCK = "python-lock"
    JS_LOCK = "js-lock"
    INSTALLED = "installed"  # pip install commands, tox deps, setup.py/setup.cfg pins

    @property
    def tools(self) -> tuple[str, ...]:
        """The scanners that audit this kind of manifest (locks: through generated inputs)."""
        if self.ecosystem is Ecosystem.PYPI:
            return ("pip-audit", "safety")
        return ("npm-audit",)

    @property
    def ecosystem(self) -> Ecosystem:
        """The package ecosystem of this kind of manifest."""
        python = (ManifestKind.REQUIREMENTS, ManifestKind.PYTHON_LOCK, ManifestKind.INSTALLED)
        return Ecosystem.PYPI if self in python else Ecosystem.NPM


@dataclass(frozen=True)
class Manifest:
    """A manifest to scan; ``path`` is relative to the repo root, POSIX style."""

    path: str
    kind: ManifestKind


@dataclass(frozen=True)
class Unsupported:
    """A manifest found but not scanned, and why (never silently dropped); a credential in a
    URL the reason quotes is masked."""

    path: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", redact_urls(self.reason))


@dataclass(frozen=True)
class ToolFailure:
    """One tool that could not scan one manifest (a credential in a quoted URL masked)."""

    tool: str
    manifest: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact_urls(self.message))


@dataclass(frozen=True)
class Component:
    """One package version a manifest pins (for the SBOM)."""

    ecosystem: Ecosystem
    name: str
    version: str
    manifest: str

    @property
    def purl(self) -> str:
        """The package URL: ``pkg:pypi/name@version`` or ``pkg:npm/name@version``."""
        kind = "pypi" if self.ecosystem is Ecosystem.PYPI else "npm"
        name = self.name.replace("@", "%40") if kind == "npm" else self.name
        return f"pkg:{kind}/{name}@{self.version}"


@dataclass(frozen=True)
class ToolOutcome:
    """What one tool produced for one manifest: findings, or a failure."""

    tool: str
    manifest: str
    findings: tuple[Finding, ...] = ()
    failure: str | None = None


@dataclass(frozen=True)
class Gate:
    """The policy verdict plus the scan failures; passes only when both are clean."""

    verdict: Verdict
    failures: tuple[ToolFailure, ...]

    @property
    def passed(self) -> bool:
        """True when nothing fails the policy and every tool ran."""
        return self.verdict.passed and not self.failures


@dataclass(frozen=True)
class ScanResult:
    """Everything one scan learnt about a repository."""

    manifests: tuple[Manifest, ...]
    findings: tuple[Finding, ...]
    failures: tuple[ToolFailure, ...]
    unsupported: tuple[Unsupported, ...]
    components: tuple[Component, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()
    audited: tuple[tuple[str, str], ...] = ()  # (manifest, tool) runs that completed

    def gate(self, policy: Policy, today: dt.date) -> Gate:
        """Apply ``policy`` on ``today``; any tool failure also fails the gate."""
        return Gate(evaluate(list(self.findings), policy, today), self.failures)


def combine(
    manifests: Iterable[Manifest],
    outcomes: Iterable[ToolOutcome],
    unsupported: Iterable[Unsupported] = (),
    components: Iterable[Component] = (),
    unchecked: Iterable[Unchecked] = (),
) -> ScanResult:
    """Merge every tool's outcome into one result (deterministic order)."""
    outcomes = list(outcomes)
    audited = sorted({(o.manifest, o.tool) for o in outcomes if o.failure is None})
    failures = sorted(
        (ToolFailure(o.tool, o.manifest, o.failure) for o in outcomes if o.failure is not None),
        key=lambda f: (f.manifest, f.tool),
    )
    findings = deduplicate(f for o in outcomes for f in o.findings)
    return ScanResult(
        manifests=tuple(sorted(set(manifests), key=lambda m: m.path)),
        findings=tuple(findings),
        failures=tuple(failures),
        unsupported=tuple(sorted(set(unsupported), key=lambda u: u.path)),
        components=tuple(sorted(set(components), key=lambda c: (c.manifest, c.name, c.version))),
        unchecked=tuple(sorted(set(unchecked), key=lambda u: (u.manifest, u.line or 0, u.name))),
        audited=tuple(audited),
    )


@dataclass(frozen=True)
class ManifestStatus:
    """One candidate manifest as the reports list it: scanned by which tools, or why not."""

    path: str
    kind: str
    status: str  # scanned | partly scanned | scan error | not scanned (nothing audited)
    tools: tuple[str, ...]
    packages: int
    reason: str
    unchecked: tuple[Unchecked, ...] = ()

    @property
    def scanned(self) -> bool:
        """True when a scanner audited it, in whole or in part (a scan error included)."""
        return self.status != "not scanned"

    @property
    def text(self) -> str:
        """One human line: ``requirements/dev.txt: scanned by pip-audit, safety (12 pins)``."""
        if self.status == "not scanned":
            return f"{self.path}: not scanned: {self.reason}"
        by = f" by {', '.join(self.tools)}" if self.tools else ""
        line = f"{self.path}: {self.status}{by} ({self.packages} pins)"
        return f"{line}; {self.reason}" if self.reason else line


def _status(result: ScanResult, manifest: Manifest) -> ManifestStatus:
    tools = tuple(sorted(t for m, t in result.audited if m == manifest.path))
    failed = sorted(f.tool for f in result.failures if f.manifest == manifest.path)
    unchecked = tuple(u for u in result.unchecked if u.manifest == manifest.path)
    packages = sum(1 for c in result.components if c.manifest == manifest.path)
    reasons = []
    if failed:
        reasons.append(f"{', '.join(failed)} failed (see scan errors)")
    if unchecked:
        entries = "entry" if len(unchecked) == 1 else "entries"
        reasons.append(f"{len(unchecked)} {entries} not checked (listed by line)")
    if packages == 0 and not failed:
        reasons.insert(0, "no exact pins to audit")
    if failed:
        status = "scan error"
    elif packages == 0:
        status = "not scanned"
    elif unchecked:
        status = "partly scanned"
    else:
        status = "scanned"
    return ManifestStatus(
        manifest.path, str(manifest.kind), status, tools, packages, "; ".join(reasons), unchecked
    )


def manifest_statuses(result: ScanResult) -> list[ManifestStatus]:
    """Every candidate manifest of the scan, scanned or not, sorted by path."""
    statuses = [_status(result, m) for m in result.manifests]
    statuses += [
        ManifestStatus(u.path, "", "not scanned", (), 0, u.reason) for u in result.unsupported
    ]
    return sorted(statuses, key=lambda s: s.path)


def components_of(manifest: Manifest, packages: Iterable[LockedPackage]) -> list[Component]:
    """The audited pins of a manifest, as SBOM components."""
    ecosystem = manifest.kind.ecosystem
    return [Component(ecosystem, p.name, p.version, manifest.path) for p in packages]


def lock_lines(text: str, versions: dict[str, str]) -> dict[str, int]:
    """``node_modules/...`` path -> the 1-based line of its entry in a package-lock.json."""
    wanted = {f'"{path}":': path for path in versions}
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key = line.strip().split(" ", 1)[0]
        if key in wanted and wanted[key] not in found:
            found[wanted[key]] = number
    return found
