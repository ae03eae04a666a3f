"""The safety platform stub and the safety database directory built from the OSV fixtures.

safety 3.8 contacts its auth server at start-up, even for ``check --db DIR``: a HEAD and a
GET of ``/.well-known/openid-configuration``, then a GET of its ``jwks_uri``. The stub
answers exactly those and 404 for anything else. :func:`write_safety_db` writes
``insecure.json`` and ``insecure_full.json`` (schema 2.0.0) derived from the PYSEC records,
with CVSS v3 severities taken from the GHSA record that shares the CVE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cvss import CVSS3
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from orchestra_ops.sandbox.faults import FaultMiddleware, FaultPlan, RequestLog
from orchestra_ops.sandbox.feeds.osv import (
    OsvRecord,
    affected_entries,
    affects,
    load_fixture,
    load_records,
    normalize_name,
    version_key,
)

SCHEMA_VERSION = "2.0.0"
BASE_DOMAIN = "https://data.safetycli.com"


class SafetyPlatformStub:
    """Just enough of the safety auth server for ``safety check`` to start offline."""

    def __init__(self) -> None:
        self.plan = FaultPlan()
        self.log = RequestLog()

    def extra_admin_routes(self) -> list[BaseRoute]:
        """No stub-specific controls."""
        return []

    def app(self) -> ASGIApp:
        """The ASGI app, wrapped in this stub's fault middleware."""
        routes = [
            # Starlette answers HEAD on every GET route.
            Route("/.well-known/openid-configuration", _openid_configuration, methods=["GET"]),
            Route("/jwks", _jwks, methods=["GET"]),
        ]
        return FaultMiddleware(
            Starlette(routes=routes),
            plan=self.plan,
            log=self.log,
            error_body=lambda status: {"detail": f"sandbox fault: HTTP {status}"},
        )


async def _openid_configuration(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "issuer": f"{base}/",
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


async def _jwks(request: Request) -> JSONResponse:
    return JSONResponse({"keys": []})


def _specs(record: OsvRecord, name: str) -> list[str]:
    """safety specifier strings (``<2.20.0``, ``>=5.1,<5.3.1``) for the record's ranges."""
    specs: list[str] = []
    for entry in affected_entries(record, "PyPI", name):
        for range_ in entry.get("ranges", []):
            start = "0"
            for event in range_["events"]:
                lower = "" if start == "0" else f">={start},"
                if "introduced" in event:
                    start = event["introduced"]
                elif "fixed" in event:
                    specs.append(f"{lower}<{event['fixed']}")
                elif "last_affected" in event:
                    specs.append(f"{lower}<={event['last_affected']}")
    return specs


def _fixed_versions(record: OsvRecord) -> list[str]:
    return [
        event["fixed"]
        for entry in record.get("affected", [])
        for range_ in entry.get("ranges", [])
        for event in range_["events"]
        if "fixed" in event
    ]


def _cvssv3(vector: str) -> dict[str, Any]:
    score = CVSS3(vector)
    return {
        "base_score": float(score.base_score),
        "base_severity": str(score.severities()[0]).upper(),
        "vector_string": vector,
    }


def _severities(records: Sequence[OsvRecord]) -> dict[str, dict[str, Any]]:
    """CVE -> {cvssv3} from every record that carries a CVSS v3 vector."""
    severities: dict[str, dict[str, Any]] = {}
    for record in records:
        vectors = [s["score"] for s in record.get("severity", []) if s["type"] == "CVSS_V3"]
        for alias in record.get("aliases", []):
            if alias.startswith("CVE-") and vectors:
                severities.setdefault(alias, {"cvssv3": _cvssv3(vectors[0])})
    return severities


def _full_entry(record: OsvRecord, name: str, pyup_id: str) -> dict[str, Any]:
    cves = [a for a in record.get("aliases", []) if a.startswith("CVE-")]
    return {
        "specs": _specs(record, name),
        "ids": [{"type": "pyup", "id": pyup_id}] + [{"type": "cve", "id": c} for c in cves],
        "advisory": record.get("details", ""),
        "affected_versions": [],
        "fixed_versions": _fixed_versions(record),
        "closest_secure_versions": [],
        "more_info_path": f"/v/{pyup_id}/",
        "published_date": record["published"][:10],
        "transitive": False,
        "vulnerability_resources": [],
    }


def _package_meta(name: str, latest: str, records: Sequence[OsvRecord]) -> dict[str, Any]:
    # Only versions the records name are known: the fixes and the latest release.
    records = [r for r in records if affected_entries(r, "PyPI", name)]
    candidates = {latest} | {v for r in records for v in _fixed_versions(r)}
    ordered = sorted(candidates, key=version_key("PyPI"))
    secure = [v for v in ordered if not any(affects(r, "PyPI", name, v) for r in records)]
    return {
        "insecure_versions": [v for v in ordered if v not in secure],
        "secure_versions": secure,
        "latest_secure_version": secure[-1] if secure else None,
        "latest_version": latest,
        "more_info_path": f"/p/pypi/{name}/eda/",
    }


def build_safety_db(
    records: Sequence[OsvRecord] | None = None, tool_ids: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(insecure, insecure_full)`` of the PYSEC records that have a pyup id."""
    records = list(records) if records is not None else load_records("PyPI")
    ids = tool_ids if tool_ids is not None else load_fixture("tool-ids.json")
    pyup_ids: dict[str, str] = ids["safety_pyup_ids"]
    latest: dict[str, str] = ids["pypi_latest_versions"]
    insecure: dict[str, list[str]] = {}
    full: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["id"] not in pyup_ids:
            continue
        for entry in record["affected"]:
            name = normalize_name("PyPI", entry["package"]["name"])
            data = _full_entry(record, name, pyup_ids[record["id"]])
            full.setdefault(name, []).append(data)
            known = insecure.setdefault(name, [])
            known.extend(s for s in data["specs"] if s not in known)
    meta_packages = {
        name: _package_meta(name, latest[name], [r for r in records if r["id"] in pyup_ids])
        for name in full
    }
    meta = {
        "schema_version": SCHEMA_VERSION,
        "base_domain": BASE_DOMAIN,
        "packages": meta_packages,
        "severities": _severities(records),
    }
    return (
        {"meta": {"schema_version": SCHEMA_VERSION}, "vulnerable_packages": insecure},
        {"meta": meta, "vulnerable_packages": full},
    )


def write_safety_db(directory: Path, records: Sequence[OsvRecord] | None = None) -> Path:
    """Write ``insecure.json`` and ``insecure_full.json`` into ``directory``; returns it."""
    insecure, full = build_safety_db(records)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "insecure.json").write_text(json.dumps(insecure, indent=1), encoding="utf-8")
    (directory / "insecure_full.json").write_text(json.dumps(full, indent=1), encoding="utf-8")
    return directory
