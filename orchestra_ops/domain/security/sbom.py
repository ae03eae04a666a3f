"""A CycloneDX 1.6 SBOM (JSON) of what was scanned, with the vulnerabilities found (pure).

Components are the pinned packages of every scanned manifest, one per package URL
(``pkg:pypi/name@version``, ``pkg:npm/name@version``); the manifests that pin each are
kept as properties. Each finding becomes a ``vulnerabilities`` entry rated from its CVSS
vector (or its label when there is none) and affecting its component. The metadata's
properties list every candidate manifest with its status and every line not checked,
so the SBOM says what it does not cover.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.sarif import advisory_url
from orchestra_ops.domain.security.scan import Component, ScanResult, manifest_statuses
from orchestra_ops.domain.security.severity import Severity

SPEC_VERSION = "1.6"
_SEVERITIES = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "high",
    Severity.MODERATE: "medium",
    Severity.LOW: "low",
}


def _method(vector: str | None) -> str:
    if vector is None:
        return "other"
    if vector.startswith("CVSS:4"):
        return "CVSSv4"
    if vector.startswith("CVSS:3.1"):
        return "CVSSv31"
    if vector.startswith("CVSS:3"):
        return "CVSSv3"
    return "CVSSv2"


def _source(vuln_id: str) -> dict[str, str]:
    if vuln_id.startswith("GHSA-"):
        name = "GitHub Advisories"
    elif vuln_id.startswith("CVE-"):
        name = "NVD"
    elif vuln_id.isdigit():
        return {"name": "Safety DB"}
    else:
        name = "OSV"
    return {"name": name, "url": advisory_url(vuln_id)}


def _rating(finding: Finding) -> dict[str, Any]:
    rating: dict[str, Any] = {
        "severity": _SEVERITIES.get(finding.severity, "unknown") if finding.severity else "unknown"
    }
    if finding.cvss_score is not None:
        rating["score"] = finding.cvss_score
        rating["method"] = _method(finding.cvss_vector)
    if finding.cvss_vector:
        rating["vector"] = finding.cvss_vector
    return rating


def _finding_component(finding: Finding) -> Component:
    return Component(finding.ecosystem, finding.package, finding.version, finding.manifest)


def _components(result: ScanResult) -> dict[str, dict[str, Any]]:
    """purl -> component entry; a package pinned by several manifests appears once."""
    entries: dict[str, dict[str, Any]] = {}
    found = [*result.components, *(_finding_component(f) for f in result.findings)]
    for component in found:
        entry = entries.setdefault(
            component.purl,
            {
                "type": "library",
                "bom-ref": component.purl,
                "name": component.name,
                "version": component.version,
                "purl": component.purl,
                "properties": [],
            },
        )
        prop = {"name": "orchestra-ops:manifest", "value": component.manifest}
        if prop not in entry["properties"]:
            entry["properties"].append(prop)
    return entries


def _vulnerability(finding: Finding, number: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "bom-ref": f"vuln-{number}-{finding.primary_id}",
        "id": finding.primary_id,
        "source": _source(finding.primary_id),
        "references": [{"id": alias, "source": _source(alias)} for alias in finding.aliases],
        "ratings": [_rating(finding)],
        "description": finding.summary or finding.primary_id,
        "affects": [{"ref": _finding_component(finding).purl}],
        "properties": [
            {"name": "orchestra-ops:manifest", "value": finding.manifest},
            {"name": "orchestra-ops:tools", "value": ",".join(sorted(finding.tools))},
        ],
    }
    if finding.fixed_versions:
        entry["recommendation"] = f"Upgrade {finding.package} to {finding.fixed_versions[0]}"
    return entry


def _coverage(result: ScanResult) -> list[dict[str, str]]:
    """One property per candidate manifest (its status) and per line not checked."""
    properties = []
    for status in manifest_statuses(result):
        properties.append({"name": "orchestra-ops:manifest", "value": status.text})
        properties += [
            {"name": "orchestra-ops:not-checked", "value": u.text} for u in status.unchecked
        ]
    return properties


def cyclonedx_sbom(
    result: ScanResult,
    *,
    subject: str,
    tool_version: str,
    timestamp: dt.datetime,
    serial: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The SBOM of one scan of ``subject`` (the repository name)."""
    components = _components(result)
    serial = serial or uuid.uuid5(
        uuid.NAMESPACE_URL, f"orchestra-ops:{subject}:{timestamp.isoformat()}"
    )
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial.urn,
        "version": 1,
        "metadata": {
            "timestamp": timestamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [
                    {"type": "application", "name": "orchestra-ops", "version": tool_version}
                ]
            },
            "component": {"type": "application", "bom-ref": "scanned-repository", "name": subject},
            "properties": _coverage(result),
        },
        "components": list(components.values()),
        "vulnerabilities": [_vulnerability(f, n) for n, f in enumerate(result.findings, start=1)],
    }
