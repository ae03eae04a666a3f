"""One scan of a repository: the manifests, what each tool found or why it failed.

Pure: :func:`combine` merges per-tool, per-manifest outcomes into a :class:`ScanResult`
(findings deduplicated across tools, failures kept per tool and manifest, unsupported
manifests listed by name). The gate fails on any failure: a scan that could not run is
never a clean one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from orchestra_ops.domain.security.findings import Ecosystem, Finding, deduplicate
from orchestra_ops.domain.security.manifests import npm_lock_versions, parse_requirements
from orchestra_ops.domain.security.policy import Policy, Verdict, evaluate


class ManifestKind(StrEnum):
    """What a manifest is, and so which tools read it."""

    REQUIREMENTS = "requirements"
    NPM_LOCK = "npm-lock"

    @property
    def tools(self) -> tuple[str, ...]:
        """The scanners that audit this kind of manifest."""
        if self is ManifestKind.REQUIREMENTS:
            return ("pip-audit", "safety")
        return ("npm-audit",)

    @property
    def ecosystem(self) -> Ecosystem:
        """The package ecosystem of this kind of manifest."""
        return Ecosystem.PYPI if self is ManifestKind.REQUIREMENTS else Ecosystem.NPM


@dataclass(frozen=True)
class Manifest:
    """A manifest to scan; ``path`` is relative to the repo root, POSIX style."""

    path: str
    kind: ManifestKind


@dataclass(frozen=True)
class Unsupported:
    """A manifest found but not scanned, and why (never silently dropped)."""

    path: str
    reason: str


@dataclass(frozen=True)
class ToolFailure:
    """One tool that could not scan one manifest."""

    tool: str
    manifest: str
    message: str


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

    def gate(self, policy: Policy, today: dt.date) -> Gate:
        """Apply ``policy`` on ``today``; any tool failure also fails the gate."""
        return Gate(evaluate(list(self.findings), policy, today), self.failures)


def combine(
    manifests: Iterable[Manifest],
    outcomes: Iterable[ToolOutcome],
    unsupported: Iterable[Unsupported] = (),
    components: Iterable[Component] = (),
) -> ScanResult:
    """Merge every tool's outcome into one result (deterministic order)."""
    outcomes = list(outcomes)
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
    )


def components_of(manifest: Manifest, text: str) -> list[Component]:
    """The pinned packages of a manifest's text (unpinned requirements are left out)."""
    ecosystem = manifest.kind.ecosystem
    if manifest.kind is ManifestKind.REQUIREMENTS:
        pins = parse_requirements(text, manifest.path)
        return [
            Component(ecosystem, p.name, p.version or "", manifest.path) for p in pins if p.exact
        ]
    versions = npm_lock_versions(text, manifest.path)
    return [
        Component(ecosystem, path.rsplit("node_modules/", 1)[-1], version, manifest.path)
        for path, version in versions.items()
    ]


def requirement_lines(text: str, source: str) -> dict[str, int]:
    """Canonical package name -> its 1-based line in a requirements file."""
    return {p.name: p.line for p in parse_requirements(text, source)}


def lock_lines(text: str, versions: dict[str, str]) -> dict[str, int]:
    """``node_modules/...`` path -> the 1-based line of its entry in a package-lock.json."""
    wanted = {f'"{path}":': path for path in versions}
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key = line.strip().split(" ", 1)[0]
        if key in wanted and wanted[key] not in found:
            found[wanted[key]] = number
    return found
