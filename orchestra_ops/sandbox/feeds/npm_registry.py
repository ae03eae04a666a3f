"""The npm registry emulator that ``npm audit --registry`` talks to.

npm 11 sends ``POST /-/npm/v1/security/advisories/bulk`` with a gzipped JSON body
``{"name": ["version", ...]}`` and gets back, per package, the advisories that affect one of
those versions. Its metavulnerability calculator then fetches the packuments
(``GET /lodash``, ``GET /@scope%2fname``) to work out the vulnerable versions and fixes.
The advisories are derived from the npm OSV fixture records.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
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
)

BULK_PATH = "/-/npm/v1/security/advisories/bulk"


def _range_text(events: Sequence[dict[str, str]]) -> str:
    """An OSV range as an npm semver range: ``<4.17.21``, ``>=1.0.0 <1.2.6``."""
    parts: list[str] = []
    start = "0"
    for event in events:
        lower = "" if start == "0" else f">={start} "
        if "introduced" in event:
            start = event["introduced"]
        elif "fixed" in event:
            parts.append(f"{lower}<{event['fixed']}")
        elif "last_affected" in event:
            parts.append(f"{lower}<={event['last_affected']}")
    return " || ".join(parts)


def npm_advisory(record: OsvRecord, name: str, advisory_id: int) -> dict[str, Any]:
    """The bulk-endpoint shape of one GHSA record for package ``name``."""
    ranges = [
        _range_text(range_["events"])
        for entry in affected_entries(record, "npm", name)
        for range_ in entry.get("ranges", [])
    ]
    vectors = [s["score"] for s in record.get("severity", []) if s["type"] == "CVSS_V3"]
    specific = record.get("database_specific", {})
    return {
        "id": advisory_id,
        "url": f"https://github.com/advisories/{record['id']}",
        "title": record.get("summary", record["id"]),
        "severity": str(specific.get("severity", "info")).lower(),
        "vulnerable_versions": " || ".join(ranges),
        "cwe": list(specific.get("cwe_ids", [])),
        "cvss": {
            "score": float(CVSS3(vectors[0]).base_score) if vectors else 0,
            "vectorString": vectors[0] if vectors else None,
        },
    }


def _decode_body(raw: bytes) -> Any:
    """The bulk request's JSON, gzipped (as npm sends it) or plain."""
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


class NpmRegistryFeed:
    """npm registry emulator: the bulk advisory endpoint and packuments of advised packages."""

    def __init__(
        self,
        records: Sequence[OsvRecord] | None = None,
        tool_ids: dict[str, Any] | None = None,
    ) -> None:
        ids = tool_ids if tool_ids is not None else load_fixture("tool-ids.json")
        self.records = list(records) if records is not None else load_records("npm")
        self.advisory_ids: dict[str, int] = ids["npm_advisory_ids"]
        self.packages: dict[str, dict[str, Any]] = ids["npm_versions"]
        self.plan = FaultPlan()
        self.log = RequestLog()

    def advisories(self, wanted: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
        """Per package, the advisories that affect at least one of the given versions."""
        found: dict[str, list[dict[str, Any]]] = {}
        for name, versions in wanted.items():
            for record in self.records:
                if any(affects(record, "npm", name, v) for v in versions):
                    advisory_id = self.advisory_ids.get(record["id"], 0)
                    found.setdefault(name, []).append(npm_advisory(record, name, advisory_id))
        return found

    def packument(self, name: str, base_url: str) -> dict[str, Any] | None:
        """The registry document of ``name``, or None when it is not an advised package."""
        package = self.packages.get(name)
        if package is None:
            return None
        tarball_name = name.rsplit("/", 1)[-1]
        versions = {
            v: {
                "name": name,
                "version": v,
                "dist": {"tarball": f"{base_url}/{name}/-/{tarball_name}-{v}.tgz"},
            }
            for v in package["versions"]
        }
        return {
            "_id": name,
            "name": name,
            "dist-tags": {"latest": package["latest"]},
            "versions": versions,
        }

    def extra_admin_routes(self) -> list[BaseRoute]:
        """No feed-specific controls: faults cover what tests need."""
        return []

    def app(self) -> ASGIApp:
        """The ASGI app, wrapped in this feed's fault middleware."""
        routes = [
            Route(BULK_PATH, self._bulk, methods=["POST"]),
            # The path arrives decoded, so "/@scope%2fname" is matched as "@scope/name".
            Route("/{name:path}", self._packument, methods=["GET"]),
        ]
        return FaultMiddleware(
            Starlette(routes=routes),
            plan=self.plan,
            log=self.log,
            error_body=lambda status: {"error": f"sandbox fault: HTTP {status}"},
        )

    async def _bulk(self, request: Request) -> JSONResponse:
        try:
            wanted = _decode_body(await request.body())
        except (OSError, EOFError, ValueError):
            return JSONResponse({"error": "body is not (gzipped) JSON"}, status_code=400)
        valid = isinstance(wanted, dict) and all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in wanted.values()
        )
        if not valid:
            return JSONResponse({"error": 'body must be {"name": ["version", ...]}'}, 400)
        return JSONResponse(self.advisories(wanted))

    async def _packument(self, request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        document = self.packument(request.path_params["name"], base)
        if document is None:
            return JSONResponse({"error": "Not found"}, status_code=404)
        return JSONResponse(document)
