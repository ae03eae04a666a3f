"""Turn each scanner's JSON report into :class:`Finding` s; the runners do the I/O.

Raw tool JSON is read here, at the adapter boundary, never in the domain: the domain
sees only findings (as the Vercel and Lambda adapters parse their APIs' JSON).

Formats as the real tools write them: pip-audit ``-f json``, safety ``--save-json``
(report 1.1) and ``npm audit --json`` (auditReportVersion 2). A report that says the
tool failed (pip-audit skips, npm's top-level ``error``) raises ScanError: a failed scan
is never a clean one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from packaging.version import InvalidVersion, Version

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.manifests import canonical_name
from orchestra_ops.domain.security.remediation import npm_range_contains, range_fixes
from orchestra_ops.domain.security.severity import Severity, best_severity
from orchestra_ops.errors import ScanError

_GHSA = re.compile(r"GHSA-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}")


def _line(lines: Mapping[str, int], name: str, version: str) -> int | None:
    """A package's manifest line, by ``name==version`` first (a lock may pin it twice);
    names compare as PyPI does (``PyYAML`` is ``pyyaml``)."""
    name = canonical_name(name)
    return lines.get(f"{name}=={version}", lines.get(name))


def from_pip_audit(report: Any, manifest: str, lines: Mapping[str, int]) -> list[Finding]:
    """Findings of a pip-audit JSON report; any skipped dependency is a ScanError.

    ``lines`` maps ``name==version`` or ``name`` to the manifest line pinning it.
    """
    dependencies = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(dependencies, list):
        raise ScanError(f"pip-audit report for {manifest} has no dependencies list")
    skipped = [d for d in dependencies if "skip_reason" in d]
    if skipped:
        names = ", ".join(f"{d.get('name')} ({d['skip_reason']})" for d in skipped)
        raise ScanError(f"pip-audit skipped dependencies of {manifest}: {names}")
    findings = []
    for dep in dependencies:
        name = canonical_name(str(dep["name"]))
        for vuln in dep.get("vulns", []):
            findings.append(
                Finding(
                    ecosystem=Ecosystem.PYPI,
                    package=name,
                    version=str(dep["version"]),
                    ids=frozenset({vuln["id"], *vuln.get("aliases", [])}),
                    manifest=manifest,
                    tools=frozenset({"pip-audit"}),
                    fixed_versions=tuple(vuln.get("fix_versions", [])),
                    line=_line(lines, name, str(dep["version"])),
                    summary=str(vuln.get("description", ""))[:300],
                )
            )
    return findings


def _safety_severity(severity: Any) -> tuple[Severity | None, float | None, str | None]:
    if not isinstance(severity, dict):
        return None, None, None
    vectors, labels = [], []
    for key in ("cvssv3", "cvssv2"):
        entry = severity.get(key)
        if isinstance(entry, dict):
            if entry.get("vector_string"):
                vectors.append(str(entry["vector_string"]))
            if entry.get("base_severity"):
                labels.append(str(entry["base_severity"]))
    return best_severity(vectors, labels)


def from_safety(report: Any, manifest: str, lines: Mapping[str, int]) -> list[Finding]:
    """Findings of a safety ``--save-json`` report (format 1.1)."""
    vulns = report.get("vulnerabilities") if isinstance(report, dict) else None
    if not isinstance(vulns, list):
        raise ScanError(f"safety report for {manifest} has no vulnerabilities list")
    findings = []
    for vuln in vulns:
        name = canonical_name(str(vuln["package_name"]))
        ids = {str(vuln["vulnerability_id"])}
        if vuln.get("CVE"):
            ids.add(str(vuln["CVE"]))
        severity, score, vector = _safety_severity(vuln.get("severity"))
        findings.append(
            Finding(
                ecosystem=Ecosystem.PYPI,
                package=name,
                version=str(vuln["analyzed_version"]),
                ids=frozenset(ids),
                manifest=manifest,
                tools=frozenset({"safety"}),
                severity=severity,
                cvss_score=score,
                cvss_vector=vector,
                fixed_versions=tuple(str(v) for v in vuln.get("fixed_versions") or []),
                line=_line(lines, name, str(vuln["analyzed_version"])),
                direct=not vuln.get("is_transitive", False),
                summary=str(vuln.get("advisory", ""))[:300],
                extra={"spec": str(vuln["vulnerable_spec"])} if vuln.get("vulnerable_spec") else {},
            )
        )
    return findings


def _npm_ids(via: dict[str, Any]) -> frozenset[str]:
    ghsa = _GHSA.search(str(via.get("url", "")))
    return frozenset({ghsa.group(0)} if ghsa else {f"npm-{via.get('source')}"})


def _npm_finding(
    name: str,
    entry: dict[str, Any],
    via: dict[str, Any],
    manifest: str,
    version: str,
    line: int | None,
) -> Finding:
    cvss = via.get("cvss") or {}
    vector = cvss.get("vectorString") or ""
    severity, score, chosen = best_severity([vector] if vector else [], [via.get("severity", "")])
    vulnerable = str(via.get("range", ""))
    installed = _npm_version(version)
    fixes = [
        fix
        for fix in range_fixes(vulnerable)
        if installed is None or ((parsed := _npm_version(fix)) is not None and parsed > installed)
    ]
    return Finding(
        ecosystem=Ecosystem.NPM,
        package=name,
        version=version,
        ids=_npm_ids(via),
        manifest=manifest,
        tools=frozenset({"npm-audit"}),
        severity=severity,
        cvss_score=score,
        cvss_vector=chosen,
        fixed_versions=tuple(sorted(fixes, key=lambda v: _npm_version(v) or Version("0"))),
        line=line,
        direct=bool(entry.get("isDirect")),
        summary=str(via.get("title", "")),
        extra={"range": vulnerable},
    )


def _npm_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def from_npm_audit(
    report: Any, manifest: str, versions: Mapping[str, str], lock_lines: Mapping[str, int]
) -> list[Finding]:
    """Findings of ``npm audit --json``: one per advisory per vulnerable installed version.

    Entries whose ``via`` holds only names are dependents of a vulnerable package, not
    vulnerable themselves; they are represented by that package's own finding. When a
    package is installed at several versions (``nodes``), each version gets the
    advisories whose range holds it; the fixed versions come from the ranges' upper bounds.
    """
    if not isinstance(report, dict) or "vulnerabilities" not in report:
        message = report.get("message") if isinstance(report, dict) else None
        raise ScanError(f"npm audit failed for {manifest}: {message or 'no vulnerabilities key'}")
    findings = []
    for name, entry in report["vulnerabilities"].items():
        nodes = entry.get("nodes") or [f"node_modules/{name}"]
        first_node: dict[str, str] = {}
        for node in nodes:
            first_node.setdefault(versions.get(node, "unknown"), node)
        for version, node in sorted(first_node.items()):
            for via in entry.get("via", []):
                if not isinstance(via, dict):
                    continue
                if npm_range_contains(str(via.get("range", "")), version) is False:
                    continue  # this advisory affects another installed version
                finding = _npm_finding(name, entry, via, manifest, version, lock_lines.get(node))
                findings.append(finding)
    return findings


def osv_severity(record: dict[str, Any]) -> tuple[Severity | None, float | None, str | None]:
    """Severity of an OSV record: its CVSS vectors, else GHSA's database_specific label."""
    vectors = [str(s["score"]) for s in record.get("severity", []) if "score" in s]
    label = (record.get("database_specific") or {}).get("severity")
    return best_severity(vectors, [str(label)] if label else [])


def enrich_with_osv(
    findings: list[Finding], records: Mapping[str, dict[str, Any]]
) -> list[Finding]:
    """Give findings without a severity the best one any of their ids' OSV records has.

    ``records`` maps an id (or alias) to its OSV record; pip-audit reports none itself.
    """
    enriched = []
    for finding in findings:
        if finding.severity is None:
            scored = [osv_severity(records[i]) for i in sorted(finding.ids) if i in records]
            known = [s for s in scored if s[0] is not None]
            if known:
                severity, score, vector = max(known, key=lambda s: (s[0] or 0, s[1] or 0.0))
                finding = replace(finding, severity=severity, cvss_score=score, cvss_vector=vector)
        enriched.append(finding)
    return enriched
