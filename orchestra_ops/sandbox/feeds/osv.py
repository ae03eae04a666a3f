"""The OSV API emulator that pip-audit's ``-s osv --osv-url`` talks to.

Routes (the subset of https://google.github.io/osv.dev/api/ the scanners use)::

    POST /v1/query        {"package": {"name", "ecosystem"}, "version"} -> {} or {"vulns": [...]}
    POST /v1/querybatch   {"queries": [...]} -> {"results": [{"vulns": [{"id", "modified"}]}|{}]}
    GET  /v1/vulns/{id}   one full record, by id or by alias; 404 otherwise

The records are the fixtures under ``orchestra_ops/sandbox/data/advisories``; this module
also holds the helpers (loading, range matching) the safety and npm feeds derive from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from orchestra_ops.sandbox.faults import FaultMiddleware, FaultPlan, RequestLog

OsvRecord = dict[str, Any]
"""One OSV record as JSON (https://ossf.github.io/osv-schema/)."""

Ecosystem = Literal["PyPI", "npm"]

_FIXTURES = {"PyPI": "osv-pypi.json", "npm": "osv-npm.json"}


def load_fixture(filename: str) -> Any:
    """Parse one JSON file of ``orchestra_ops/sandbox/data/advisories``."""
    folder = resources.files("orchestra_ops.sandbox").joinpath("data", "advisories")
    return json.loads(folder.joinpath(filename).read_text(encoding="utf-8"))


def load_records(ecosystem: Ecosystem | None = None) -> list[OsvRecord]:
    """The fixture records of one ecosystem, or of all of them."""
    chosen = [ecosystem] if ecosystem else list(_FIXTURES)
    records: list[OsvRecord] = []
    for name in chosen:
        records.extend(load_fixture(_FIXTURES[name]))
    return records


def normalize_name(ecosystem: str, name: str) -> str:
    """The comparable form of a package name (PEP 503 for PyPI, as-is elsewhere)."""
    return canonicalize_name(name) if ecosystem.lower() == "pypi" else name


def _semver_key(version: str) -> tuple[int, ...]:
    # Enough semver for range checks: release numbers only, pre-releases sort first.
    release, _, pre = version.lstrip("v").partition("-")
    numbers = [int(part) for part in release.split(".")]
    numbers += [0] * (3 - len(numbers))
    return (*numbers, 0 if pre else 1)


def version_key(ecosystem: str) -> Callable[[str], Any]:
    """The sort key of versions in ``ecosystem``."""
    return Version if ecosystem.lower() == "pypi" else _semver_key


def events_match(events: Sequence[dict[str, str]], version: str, ecosystem: str) -> bool:
    """True when ``version`` lies in the OSV range given by ``events``."""
    key = version_key(ecosystem)
    try:
        wanted = key(version)
        start: str | None = None
        for event in events:
            if "introduced" in event:
                start = event["introduced"]
                continue
            if start is None:
                continue
            above = start == "0" or wanted >= key(start)
            if "fixed" in event and above and wanted < key(event["fixed"]):
                return True
            if "last_affected" in event and above and wanted <= key(event["last_affected"]):
                return True
            start = None
        return start is not None and (start == "0" or wanted >= key(start))
    except (InvalidVersion, ValueError):
        return False


def affected_entries(record: OsvRecord, ecosystem: str, name: str) -> list[dict[str, Any]]:
    """The ``affected`` entries of ``record`` that are about package ``name``."""
    wanted = normalize_name(ecosystem, name)
    return [
        entry
        for entry in record.get("affected", [])
        if entry["package"]["ecosystem"].lower() == ecosystem.lower()
        and normalize_name(ecosystem, entry["package"]["name"]) == wanted
    ]


def affects(record: OsvRecord, ecosystem: str, name: str, version: str) -> bool:
    """True when ``record`` says ``name`` ``version`` is vulnerable."""
    for entry in affected_entries(record, ecosystem, name):
        if version in entry.get("versions", []):
            return True
        for range_ in entry.get("ranges", []):
            if range_["type"] in ("ECOSYSTEM", "SEMVER") and events_match(
                range_["events"], version, ecosystem
            ):
                return True
    return False


def find_by_alias(records: Iterable[OsvRecord], vuln_id: str) -> OsvRecord | None:
    """The record with id ``vuln_id``, else the first listing it among its aliases."""
    candidates = list(records)
    for record in candidates:
        if record["id"] == vuln_id:
            return record
    for record in candidates:
        if vuln_id in record.get("aliases", []):
            return record
    return None


def _osv_error(status: int, message: str | None = None) -> dict[str, Any]:
    # osv.dev answers errors in the gRPC-gateway envelope.
    return {"code": status, "message": message or f"sandbox fault: HTTP {status}"}


def _parse_query(query: Any) -> tuple[str, str, str] | str:
    """(ecosystem, name, version) of one query, or why it is not supported."""
    if not isinstance(query, dict):
        return "a query must be a JSON object"
    package, version = query.get("package"), query.get("version")
    if not isinstance(package, dict) or not isinstance(version, str):
        return "the sandbox supports only {package: {name, ecosystem}, version} queries"
    name, ecosystem = package.get("name"), package.get("ecosystem")
    if not isinstance(name, str) or not isinstance(ecosystem, str):
        return "package needs a name and an ecosystem"
    return ecosystem, name, version


class OsvFeed:
    """OSV API emulator over a fixed set of records, with fault injection and a request log."""

    def __init__(self, records: Sequence[OsvRecord] | None = None) -> None:
        self.records: list[OsvRecord] = list(records) if records is not None else load_records()
        self.plan = FaultPlan()
        self.log = RequestLog()

    def query(self, ecosystem: str, name: str, version: str) -> list[OsvRecord]:
        """Every record affecting ``name`` ``version`` in ``ecosystem``."""
        return [r for r in self.records if affects(r, ecosystem, name, version)]

    def lookup(self, vuln_id: str) -> OsvRecord | None:
        """One record by id or alias."""
        return find_by_alias(self.records, vuln_id)

    def extra_admin_routes(self) -> list[BaseRoute]:
        """No feed-specific controls: faults cover what tests need."""
        return []

    def app(self) -> ASGIApp:
        """The ASGI app, wrapped in this feed's fault middleware."""
        routes = [
            Route("/v1/query", self._query, methods=["POST"]),
            Route("/v1/querybatch", self._querybatch, methods=["POST"]),
            Route("/v1/vulns/{vuln_id}", self._vuln, methods=["GET"]),
        ]
        return FaultMiddleware(
            Starlette(routes=routes), plan=self.plan, log=self.log, error_body=_osv_error
        )

    async def _query(self, request: Request) -> JSONResponse:
        try:
            parsed = _parse_query(await request.json())
        except ValueError:
            parsed = "the body is not JSON"
        if isinstance(parsed, str):
            return JSONResponse(_osv_error(3, parsed), status_code=400)
        vulns = self.query(*parsed)
        return JSONResponse({"vulns": vulns} if vulns else {})

    async def _querybatch(self, request: Request) -> JSONResponse:
        try:
            queries = (await request.json())["queries"]
            parsed = [_parse_query(q) for q in queries]
        except (ValueError, KeyError, TypeError):
            return JSONResponse(_osv_error(3, "body must be {queries: [...]}"), status_code=400)
        results: list[dict[str, Any]] = []
        for item in parsed:
            if isinstance(item, str):
                return JSONResponse(_osv_error(3, item), status_code=400)
            found = [{"id": r["id"], "modified": r["modified"]} for r in self.query(*item)]
            results.append({"vulns": found} if found else {})
        return JSONResponse({"results": results})

    async def _vuln(self, request: Request) -> JSONResponse:
        record = self.lookup(request.path_params["vuln_id"])
        if record is None:
            return JSONResponse(_osv_error(5, "Bug not found."), status_code=404)
        return JSONResponse(record)
