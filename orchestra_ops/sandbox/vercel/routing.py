"""Pure vercel.json routing for the sandbox edge.

Order, as Vercel applies it: ``headers`` are collected for the request path, then
``redirects`` (with the ``trailingSlash`` and ``cleanUrls`` redirects first), then the
filesystem, then ``rewrites`` (so a catch-all rewrite to ``/index.html`` is an SPA
fallback that never hides real assets), then ``404.html`` or a plain 404.

Sources use Vercel's path-to-regexp syntax: ``:name``, ``:name*``, ``:name+``,
``:name?`` and raw groups such as ``(.*)``; destinations use ``:name`` and ``$1``.
Only the modern keys are routed; the legacy ``routes`` key is validated, not routed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Exists = Callable[[str], bool]
"""Tells whether a file path (no leading slash) exists in the deployment."""

MIXED_ROUTES_MESSAGE = (
    "If `rewrites`, `redirects`, `headers`, `cleanUrls` or `trailingSlash` are used, "
    "then `routes` cannot be present."
)
_MODERN = ("rewrites", "redirects", "headers", "cleanUrls", "trailingSlash")
_TOKEN = re.compile(r"(/?):([A-Za-z_]\w*)(\((?:[^()\\]|\\.)*\))?([*+?])?|(\((?:[^()\\]|\\.)*\))")


@dataclass(frozen=True)
class Serve:
    """Serve the file at ``path`` (no leading slash) with ``status``."""

    path: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Redirect:
    """Answer ``status`` with a Location header."""

    location: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Proxy:
    """Rewrite to an absolute URL: the edge fetches it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotFound:
    """Nothing matched and there is no 404.html (or a route answered ``status`` bare)."""

    headers: dict[str, str] = field(default_factory=dict)
    status: int = 404


Decision = Serve | Redirect | Proxy | NotFound


def validate_config(config: Mapping[str, Any]) -> list[str]:
    """The problems Vercel's validator reports for this vercel.json (empty when valid)."""
    problems = []
    if "routes" in config and any(key in config for key in _MODERN):
        problems.append(MIXED_ROUTES_MESSAGE)
    if "functions" in config and "builds" in config:
        problems.append("FUNCTIONS_AND_BUILDS: `functions` cannot be used with `builds`.")
    for key in ("rewrites", "redirects", "headers"):
        for rule in config.get(key, []) or []:
            try:
                compile_source(str(rule["source"]))
            except (KeyError, TypeError, re.error):
                problems.append(f"invalid `{key}` rule: {rule!r}")
    return problems


def compile_source(source: str) -> re.Pattern[str]:
    """Translate a path-to-regexp source into a Python regular expression."""
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(source):
        parts.append(re.escape(source[position : match.start()]))
        position = match.end()
        slash, name, custom, modifier, group = match.groups()
        if group is not None:
            parts.append(group)
            continue
        inner = custom[1:-1] if custom else None
        parts.append(_param(slash, name, inner, modifier))
    parts.append(re.escape(source[position:]))
    return re.compile("".join(parts) + "/?")


def _param(slash: str, name: str, inner: str | None, modifier: str | None) -> str:
    if modifier == "*":
        return f"(?:{slash}(?P<{name}>{inner or '.*'}))?"
    if modifier == "+":
        return f"{slash}(?P<{name}>{inner or '.+'})"
    if modifier == "?":
        return f"(?:{slash}(?P<{name}>{inner or '[^/]+'}))?"
    return f"{slash}(?P<{name}>{inner or '[^/]+'})"


def substitute(destination: str, match: re.Match[str]) -> str:
    """Fill ``:name`` and ``$n`` placeholders of a destination from a source match."""
    named = {k: v or "" for k, v in match.groupdict().items()}

    def by_number(found: re.Match[str]) -> str:
        index = int(found.group(1))
        return (match.group(index) or "") if index <= match.re.groups else ""

    def by_name(found: re.Match[str]) -> str:
        # Unknown names stay as they are ("http://host:port" has none: ports are digits).
        return named.get(found.group(1), found.group(0))

    filled = re.sub(r"\$(\d+)", by_number, destination)
    # A destination may repeat the modifier (":path*"); it is not part of the value.
    return re.sub(r":([A-Za-z_]\w*)[*+?]?", by_name, filled)


def route(config: Mapping[str, Any], path: str, query: str, exists: Exists) -> Decision:
    """Decide how the edge answers ``path`` (with its raw ``query``) for this vercel.json."""
    headers = _headers_for(config, path)
    redirect = _redirect_for(config, path, query, exists)
    if redirect is not None:
        return Redirect(redirect[0], redirect[1], headers)
    clean = bool(config.get("cleanUrls"))
    found = find_file(path, exists, clean_urls=clean)
    if found is not None:
        return Serve(found, 200, headers)
    for rule in config.get("rewrites", []) or []:
        match = compile_source(str(rule["source"])).fullmatch(path)
        if match is None:
            continue
        target = substitute(str(rule["destination"]), match)
        if re.match(r"^https?://", target):
            return Proxy(_with_query(target, query), headers)
        found = find_file(target.split("?", 1)[0], exists, clean_urls=clean)
        if found is not None:
            return Serve(found, 200, headers)
        break
    if exists("404.html"):
        return Serve("404.html", 404, headers)
    return NotFound(headers)


def find_file(path: str, exists: Exists, *, clean_urls: bool = False) -> str | None:
    """The file a URL path names: itself, its ``index.html``, or (cleanUrls) ``.html``."""
    relative = path.lstrip("/")
    candidates = []
    if relative and not relative.endswith("/"):
        candidates.append(relative)
        if clean_urls:
            candidates.append(relative + ".html")
    base = relative.rstrip("/")
    candidates.append(f"{base}/index.html" if base else "index.html")
    return next((c for c in candidates if exists(c)), None)


def _headers_for(config: Mapping[str, Any], path: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for rule in config.get("headers", []) or []:
        if compile_source(str(rule["source"])).fullmatch(path):
            for pair in rule.get("headers", []):
                headers[str(pair["key"])] = str(pair["value"])
    return headers


def _redirect_for(
    config: Mapping[str, Any], path: str, query: str, exists: Exists
) -> tuple[str, int] | None:
    """The (location, status) of the first redirect that applies, if any."""
    normal = _normalise(config, path, exists)
    if normal is not None:
        return _with_query(normal, query), 308
    for rule in config.get("redirects", []) or []:
        match = compile_source(str(rule["source"])).fullmatch(path)
        if match is None:
            continue
        status = rule.get("statusCode")
        if status is None:
            status = 308 if rule.get("permanent", True) else 307
        return _with_query(substitute(str(rule["destination"]), match), query), int(status)
    return None


def _normalise(config: Mapping[str, Any], path: str, exists: Exists) -> str | None:
    """cleanUrls and trailingSlash redirects: the canonical path when ``path`` is not it."""
    canonical = path
    if config.get("cleanUrls"):
        # Vercel's cleanUrls redirects: /a/index(.html) -> /a, /index(.html) -> /, /b.html -> /b
        index = re.fullmatch(r"(.*)/index(?:\.html)?/?", canonical)
        if index is not None:
            canonical = index.group(1) or "/"
        elif canonical.endswith(".html"):
            canonical = canonical.removesuffix(".html")
    slash = config.get("trailingSlash")
    last = canonical.rsplit("/", 1)[-1]
    if slash is True and not canonical.endswith("/") and "." not in last:
        canonical += "/"
    elif slash is False and canonical.endswith("/") and canonical != "/":
        canonical = canonical.rstrip("/") or "/"
    if canonical == "":
        canonical = "/"
    return canonical if canonical != path else None


def _with_query(target: str, query: str) -> str:
    if not query:
        return target
    return f"{target}&{query}" if "?" in target else f"{target}?{query}"
