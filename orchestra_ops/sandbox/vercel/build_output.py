"""Serving a ``--prebuilt`` deployment: Vercel's Build Output API v3, pure.

``vercel build`` writes ``.vercel/output/``: ``static/`` holds the files, ``config.json``
holds ``routes`` (``src`` / ``dest`` / ``headers`` / ``status`` / ``continue`` and the
``handle`` phase markers) and ``overrides`` (a static file served at another path or with
another content type, as ``cleanUrls`` produces). Routing, simplified from Vercel's:

1. routes before ``{"handle": "filesystem"}``: headers accumulate; a redirect (a
   ``Location`` header with a 3xx status) answers at once; a ``dest`` rewrites the path
   and, without ``continue``, ends the phase;
2. the filesystem: a file at the path (or its ``index``) is served;
3. routes after the filesystem up to ``{"handle": "error"}``: a rewrite whose target
   exists is served;
4. the error phase (``{"handle": "error"}``) routes a miss, e.g. to ``/404`` with 404.

A route applies only when its ``has`` / ``missing`` conditions (header, cookie, query,
host) hold; a route with a ``status`` and no ``dest`` answers that status at once (the
file at the path, if any, else an empty page). An override moves a file: it is served at
its new path only, though a rewrite's ``dest`` may still name the original.

Functions (``functions/``) are not run: the sandbox serves static output only.
"""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass, field
from typing import Any

from orchestra_ops.sandbox.vercel.conditions import RequestFacts, applies
from orchestra_ops.sandbox.vercel.routing import Decision, NotFound, Proxy, Redirect, Serve

OUTPUT = ".vercel/output/"
CONFIG = OUTPUT + "config.json"
STATIC = OUTPUT + "static/"


class OutputError(ValueError):
    """config.json is unreadable or not version 3; the message says which."""


@dataclass(frozen=True)
class BuildOutput:
    """A deployment's build output: served path -> bytes and content type, and routes."""

    files: dict[str, bytes]
    types: dict[str, str]
    routes: list[dict[str, Any]] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)
    """static/ name -> served path, for the files an override moved."""


def is_build_output(paths: list[str]) -> bool:
    """True when the upload is a ``--prebuilt`` Build Output (it carries config.json)."""
    return CONFIG in paths


def check_config(raw: bytes) -> dict[str, Any]:
    """The parsed config.json, or :class:`OutputError` naming the problem."""
    try:
        config = json.loads(raw)
    except ValueError as error:
        raise OutputError(f"{CONFIG} is not valid JSON: {error}") from error
    if not isinstance(config, dict) or config.get("version") != 3:
        raise OutputError(f"{CONFIG} must be an object with version 3")
    routes = config.get("routes") or []
    if not isinstance(routes, list) or not all(isinstance(r, dict) for r in routes):
        raise OutputError(f"{CONFIG} `routes` must be a list of objects")
    for rule in routes:
        if "src" in rule:
            try:
                re.compile(str(rule["src"]))
            except re.error as error:
                raise OutputError(f"{CONFIG} route src {rule['src']!r}: {error}") from error
    return config


def load(files: dict[str, bytes]) -> BuildOutput:
    """The build output of an uploaded ``.vercel/output`` tree."""
    config = check_config(files[CONFIG])
    overrides = config.get("overrides") or {}
    served: dict[str, bytes] = {}
    types: dict[str, str] = {}
    originals: dict[str, str] = {}
    for path, data in files.items():
        if not path.startswith(STATIC):
            continue
        name = path.removeprefix(STATIC)
        override = overrides.get(name) if isinstance(overrides, dict) else None
        target = str(override.get("path") or name) if isinstance(override, dict) else name
        served[target] = data
        if target != name:
            originals[name] = target
        kind = override.get("contentType") if isinstance(override, dict) else None
        types[target] = str(kind or mimetypes.guess_type(name)[0] or "application/octet-stream")
    return BuildOutput(served, types, list(config.get("routes") or []), originals)


def find(
    output: BuildOutput, path: str, *, error_page: bool = False, moved: bool = True
) -> str | None:
    """The served file for a URL path: itself or its ``index`` / ``index.html`` (and, for
    an error page, itself with ``.html``: ``/404`` finds ``404.html``); with ``moved``
    (a rewrite's destination), a path naming a static file an override moved finds it
    at its new path."""
    relative = path.strip("/")
    base = f"{relative}/" if relative else ""
    html = f"{relative}.html" if relative and error_page else ""
    for candidate in (relative, f"{base}index", f"{base}index.html", html):
        if candidate and candidate in output.files:
            return candidate
        if moved and candidate in output.originals:
            return output.originals[candidate]
    return None


def route(
    output: BuildOutput, path: str, query: str, facts: RequestFacts | None = None
) -> Decision:
    """How the edge answers ``path`` (with its raw ``query``) for this build output."""
    facts = facts or RequestFacts.of({}, query)
    phases = {
        name: [r for r in rules if applies(r, facts)]
        for name, rules in _phases(output.routes).items()
    }
    headers: dict[str, str] = {}
    current = path
    status = 200
    for rule in phases["main"]:
        outcome = _apply(rule, current, headers)
        if isinstance(outcome, Redirect | Proxy):
            return _with_query(outcome, query)
        if outcome is not None:
            current, stop = outcome
            status = _status(rule, status)
            bare = rule.get("dest") is None and not rule.get("continue")
            if bare and status != 200:
                found = find(output, current, moved=False)
                return Serve(found, status, dict(headers)) if found else NotFound(headers, status)
            if stop:
                break
    found = find(output, current, moved=current != path)
    if found is None:
        rewritten = _rewrite_phase(output, phases["rewrite"], current, headers)
        if not isinstance(rewritten, str):
            return (
                _with_query(rewritten, query)
                if rewritten
                else _miss(output, phases, current, headers)
            )
        found = rewritten
    return Serve(found, status, dict(headers))


def _status(rule: dict[str, Any], current: int) -> int:
    status = rule.get("status")
    return status if isinstance(status, int) and not 300 <= status < 400 else current


def _rewrite_phase(
    output: BuildOutput, rules: list[dict[str, Any]], path: str, headers: dict[str, str]
) -> str | Redirect | Proxy | None:
    """The file a rewrite after the filesystem reaches, a redirect or proxy, or None."""
    for rule in rules:
        outcome = _apply(rule, path, headers)
        if isinstance(outcome, Redirect | Proxy):
            return outcome
        if outcome is not None:
            found = find(output, outcome[0])
            if found is not None:
                return found
    return None


def _miss(
    output: BuildOutput,
    phases: dict[str, list[dict[str, Any]]],
    path: str,
    headers: dict[str, str],
) -> Decision:
    """The error phase: the first matching route's page with its status, else a 404."""
    for rule in phases["error"]:
        match = _match(rule, path)
        if match is None:
            continue
        dest = _fill(str(rule.get("dest") or ""), match).split("?", 1)[0]
        target = find(output, dest, error_page=True)
        if target is not None:
            return Serve(target, int(rule.get("status") or 404), dict(headers))
    return NotFound(dict(headers))


def _with_query(decision: Redirect | Proxy, query: str) -> Redirect | Proxy:
    if not query:
        return decision
    if isinstance(decision, Redirect):
        joiner = "&" if "?" in decision.location else "?"
        return Redirect(decision.location + joiner + query, decision.status, decision.headers)
    joiner = "&" if "?" in decision.url else "?"
    return Proxy(decision.url + joiner + query, decision.headers)


def _phases(routes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    phases: dict[str, list[dict[str, Any]]] = {"main": [], "rewrite": [], "error": []}
    phase = "main"
    for rule in routes:
        handle = rule.get("handle")
        if handle == "filesystem":
            phase = "rewrite"
        elif handle == "error":
            phase = "error"
        elif handle is not None:
            phase = "rewrite" if phase == "main" else phase
        else:
            phases[phase].append(rule)
    return phases


def _match(rule: dict[str, Any], path: str) -> re.Match[str] | None:
    if "src" not in rule:
        return None
    flags = 0 if rule.get("caseSensitive") else re.IGNORECASE
    return re.compile(str(rule["src"]), flags).match(path)


def _apply(
    rule: dict[str, Any], path: str, headers: dict[str, str]
) -> Redirect | Proxy | tuple[str, bool] | None:
    """A matched rule's effect: a redirect, a proxy, or (new path, stop), else None."""
    match = _match(rule, path)
    if match is None:
        return None
    rule_headers = {str(k): _fill(str(v), match) for k, v in (rule.get("headers") or {}).items()}
    location = next((v for k, v in rule_headers.items() if k.lower() == "location"), None)
    status = rule.get("status")
    if location is not None and isinstance(status, int) and 300 <= status < 400:
        return Redirect(location, status, dict(headers))
    headers.update(rule_headers)
    dest = rule.get("dest")
    if dest is None:
        return None if rule.get("continue") else (path, False)
    target = _fill(str(dest), match)
    if re.match(r"^https?://", target):
        return Proxy(target, dict(headers))
    return target.split("?", 1)[0], not rule.get("continue")


def _fill(template: str, match: re.Match[str]) -> str:
    named = {k: v or "" for k, v in match.groupdict().items()}

    def by_number(found: re.Match[str]) -> str:
        index = int(found.group(1))
        return (match.group(index) or "") if index <= match.re.groups else ""

    filled = re.sub(r"\$(\d+)", by_number, template)
    return re.sub(r"\$([A-Za-z_]\w*)", lambda f: named.get(f.group(1), f.group(0)), filled)
