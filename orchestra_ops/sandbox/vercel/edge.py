"""The sandbox edge: serves each deployment's uploaded files, chosen by the Host header.

A deployment's ``url`` serves that deployment; an alias (the production domain
``<project>.vercel.app`` among them) serves whatever deployment it points to now.
vercel.json routing is decided by :mod:`routing`; rewrites to ``http://127.0.0.1:…``
(or ``localhost``) are proxied, other external destinations answer 502 (no internet).
Error pages carry ``x-vercel-error``; the codes for unready and failed deployments
(DEPLOYMENT_NOT_READY 503, DEPLOYMENT_FAILED 502) are the sandbox's own choice.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from orchestra_ops.adapters._http import tls_context
from orchestra_ops.sandbox.vercel import build_output, routing
from orchestra_ops.sandbox.vercel.conditions import RequestFacts
from orchestra_ops.sandbox.vercel.deployments import under_root
from orchestra_ops.sandbox.vercel.state import DeploymentRecord, Health, State

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_PROXY_TIMEOUT_S = 10.0
_MAINTENANCE = "<html><body><h1>Site under maintenance</h1><p>Back soon.</p></body></html>"
_HOP_HEADERS = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


def error_page(status: int, code: str, detail: str) -> Response:
    """A Vercel-like plain text error page."""
    text = f"{status}: {detail}\nCode: {code}\n"
    return PlainTextResponse(text, status, headers={"x-vercel-error": code})


@dataclass(frozen=True)
class _Site:
    """What one request is served from: a snapshot taken under the state lock."""

    record: DeploymentRecord
    state: str
    files: dict[str, bytes]
    config: dict[str, Any]
    health: Health | None
    output: build_output.BuildOutput | None = None


class Edge:
    """The edge ASGI app over the emulator's state."""

    def __init__(self, state: State) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """Pick the deployment by Host, apply health modes and routing."""
        host = request.headers.get("host", "").split(":", 1)[0].lower()
        site = self._site(host)
        if site is None:
            return error_page(404, "DEPLOYMENT_NOT_FOUND", "The deployment could not be found")
        if site.state in ("QUEUED", "BUILDING"):
            return error_page(503, "DEPLOYMENT_NOT_READY", "The deployment is still building")
        if site.state != "READY":
            return error_page(502, "DEPLOYMENT_FAILED", f"The deployment is {site.state}")
        if site.health is not None:
            if site.health.mode == "fail":
                return error_page(500, "FUNCTION_INVOCATION_FAILED", "A server error occurred")
            if site.health.mode == "slow":
                await asyncio.sleep(site.health.delay_s)
            if site.health.mode == "maintenance":
                return HTMLResponse(_MAINTENANCE, 200)
        return await self._route(request, site)

    def _site(self, host: str) -> _Site | None:
        with self.state.lock:
            self.state.settle()
            record = next((d for d in self.state.deployments.values() if d.url == host), None)
            alias = self.state.aliases.get(host)
            if record is None and alias is not None:
                record = self.state.deployments.get(alias.deployment_id)
            if record is None:
                return None
            files = served_files(self.state, record)
            raw = _raw_files(self.state, record)
            prebuilt = build_output.is_build_output(list(raw))
            return _Site(
                record,
                self.state.state_of(record),
                files,
                _with_next_rewrites(record.vercel_json, self.state, record),
                self.state.health.get(host) or self.state.health.get(record.id),
                _output(raw) if prebuilt else None,
            )

    async def _route(self, request: Request, site: _Site) -> Response:
        # The decoded path as served: request.url would re-parse a "#" or "?" in it.
        path = request.scope["path"]
        query = request.scope["query_string"].decode("latin-1")
        if site.output is not None:
            facts = RequestFacts.of(request.headers, query)
            decision = build_output.route(site.output, path, query, facts)
        else:
            decision = routing.route(site.config, path, query, lambda p: p in site.files)
        if isinstance(decision, routing.Serve):
            media = mimetypes.guess_type(decision.path)[0] or "application/octet-stream"
            if site.output is not None:
                media = site.output.types.get(decision.path, media)
            return Response(
                site.files[decision.path], decision.status, decision.headers, media_type=media
            )
        if isinstance(decision, routing.Redirect):
            return RedirectResponse(decision.location, decision.status, decision.headers)
        if isinstance(decision, routing.Proxy):
            return await _proxy(request, decision)
        if decision.status != 404:
            return Response(b"", decision.status, decision.headers)
        page = error_page(404, "NOT_FOUND", "The page could not be found")
        page.headers.update(decision.headers)
        return page


_NEXT_PAGES = ".next/server/app/"
_NEXT_STATIC = ".next/static/"


def _next_build_output(files: dict[str, bytes]) -> dict[str, bytes]:
    """What Vercel serves statically from a Next.js build: prerendered pages, assets, public/.

    The emulator cannot run a Next.js server, so a Next.js deployment serves the pages
    its build prerendered (``.next/server/app/*.html``), the hashed assets under
    ``/_next/static`` and the ``public/`` files, which is what a static route answers.
    """
    served = {p.removeprefix("public/"): b for p, b in files.items() if p.startswith("public/")}
    for path, body in files.items():
        if path.startswith(_NEXT_PAGES) and path.endswith(".html"):
            served[path.removeprefix(_NEXT_PAGES)] = body
        elif path.startswith(_NEXT_STATIC):
            served["_next/static/" + path.removeprefix(_NEXT_STATIC)] = body
    return served


_ROUTES_MANIFEST = ".next/routes-manifest.json"


def _with_next_rewrites(
    config: dict[str, Any], state: State, record: DeploymentRecord
) -> dict[str, Any]:
    """A Next.js build's own rewrites (next.config ``rewrites()``), as Vercel applies them.

    Next writes them to ``.next/routes-manifest.json``; Vercel's Next.js builder turns
    them into routes. The sandbox reads the manifest when the build output carries it and
    routes its rewrites (``beforeFiles``, ``afterFiles``, ``fallback``, or a plain list)
    after the filesystem, with the deployment's own vercel.json rewrites after them.
    """
    sha = record.files.get(_ROUTES_MANIFEST)
    if sha is None or sha not in state.files:
        return config
    try:
        manifest = json.loads(state.files[sha])
        rewrites = manifest.get("rewrites") or []
        if isinstance(rewrites, dict):
            rewrites = [
                *(rewrites.get("beforeFiles") or []),
                *(rewrites.get("afterFiles") or []),
                *(rewrites.get("fallback") or []),
            ]
        rules = [
            {"source": str(r["source"]), "destination": str(r["destination"])}
            for r in rewrites
            if isinstance(r, dict) and "source" in r and "destination" in r
        ]
    except (ValueError, AttributeError, TypeError):
        return config  # an unreadable manifest: routed as if it were not there
    if not rules:
        return config
    return {**config, "rewrites": [*rules, *(config.get("rewrites") or [])]}


def _raw_files(state: State, record: DeploymentRecord) -> dict[str, bytes]:
    """The upload from the deployment's Root Directory (the whole upload without one)."""
    files = under_root(record.files, record.project_settings.get("rootDirectory"))
    return {path: state.files[sha] for path, sha in files.items() if sha in state.files}


def _output(files: dict[str, bytes]) -> build_output.BuildOutput:
    try:
        return build_output.load(files)
    except build_output.OutputError:
        return build_output.BuildOutput({}, {})  # refused at deploy time; nothing to serve


def served_files(state: State, record: DeploymentRecord) -> dict[str, bytes]:
    """path -> bytes: a Build Output's static files, a Next.js build's pages, or the
    upload rooted at the output directory when it was uploaded (``public/`` for a site
    without a framework, as ``vercel build`` picks it). vercel.json is never served."""
    output = record.project_settings.get("outputDirectory") or record.vercel_json.get(
        "outputDirectory"
    )
    files = _raw_files(state, record)
    if build_output.is_build_output(list(files)):
        return _output(files).files
    if any(path.startswith(_NEXT_PAGES) for path in files):
        return _next_build_output(files)
    files.pop("vercel.json", None)
    framework = record.project_settings.get("framework") or record.vercel_json.get("framework")
    if not output and not framework and any(p.startswith("public/") for p in files):
        output = "public"
    if isinstance(output, str) and output.strip("/"):
        prefix = output.strip("/") + "/"
        inside = {p.removeprefix(prefix): b for p, b in files.items() if p.startswith(prefix)}
        if inside:
            return inside
    return files


async def _proxy(request: Request, decision: routing.Proxy) -> Response:
    """Fetch a rewrite destination on loopback; anything else has no internet to reach."""
    host = urlsplit(decision.url).hostname or ""
    if host not in _LOOPBACK_HOSTS:
        return PlainTextResponse(
            f"502: the rewrite destination {decision.url} is outside the sandbox, which has "
            "no internet access; point it at a 127.0.0.1 backend.\nCode: EXTERNAL_REWRITE\n",
            502,
            headers={"x-vercel-error": "EXTERNAL_REWRITE"},
        )
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    try:
        async with httpx.AsyncClient(timeout=_PROXY_TIMEOUT_S, verify=tls_context()) as client:
            upstream = await client.request(
                request.method, decision.url, headers=headers, content=await request.body()
            )
    except httpx.HTTPError as error:
        return PlainTextResponse(
            f"502: the rewrite destination {decision.url} did not answer "
            f"({type(error).__name__})\n",
            502,
            headers={"x-vercel-error": "ROUTER_EXTERNAL_TARGET_CONNECTION_ERROR"},
        )
    answer_headers = {
        k: v
        for k, v in upstream.headers.items()
        if k.lower() not in _HOP_HEADERS | {"content-encoding"}
    }
    answer_headers.update(decision.headers)
    return Response(upstream.content, upstream.status_code, answer_headers)
