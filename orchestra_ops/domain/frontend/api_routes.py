"""Which URL paths of an app go to its backend API, read from the app's own config.

Pure and conservative: the config files' text is scanned (strings, template literals
and comments skipped), never executed. Sources:

- Vite: the keys of ``server.proxy`` (object form ``'/x': { target, rewrite }`` and
  string form ``'/x': 'http://...'``; a regex-like key ``'^/x/.*'`` gives ``/x``), and
  ``base`` (the path the built app is served under);
- Next.js: ``basePath`` and the ``source`` of every ``rewrites()`` entry whose
  ``destination`` is not a path of the app itself (prefixed by ``basePath`` unless the
  entry says ``basePath: false``).

A key or entry that cannot be read with certainty (a computed key, a spread, a
template with ``${}``, a proxy table held in a variable) is listed in ``unreadable``
with its file: the caller must ask, never guess ``/api``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestra_ops.domain.frontend.next_config import (
    _is_literal_start,
    _object_span,
    _skip_literal,
    _top_level_segments,
)

VITE_CONFIGS = ("vite.config.ts", "vite.config.mts", "vite.config.js", "vite.config.mjs")
NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.ts")
_VITE_ROOT = (
    re.compile(r"\bdefineConfig\s*\(\s*\{"),
    re.compile(r"\bdefineConfig\s*\(\s*(?:async\s*)?\([^)]*\)\s*=>\s*\(\s*\{"),
    re.compile(r"\bexport\s+default\s*\{"),
    re.compile(r"\bmodule\.exports\s*=\s*\{"),
)
_RETURN = re.compile(r"\breturn\s*\{")
_NEXT_ROOT = (
    re.compile(r"\bconst\s+nextConfig(?:\s*:\s*NextConfig)?\s*=\s*\{"),
    re.compile(r"\bmodule\.exports\s*=\s*\{"),
    re.compile(r"\bexport\s+default\s*\{"),
)
_KEY = re.compile(r"""\s*(?:(['"])(?P<quoted>.*?)\1|(?P<bare>[A-Za-z_$][\w$]*))\s*:""", re.S)
_STRING = re.compile(r"""\s*(['"])(?P<value>[^'"`]*)\1\s*$""")
_STRIP_REWRITE = re.compile(
    r"""\.replace\(\s*/\^(?P<path>(?:\\/|[\w\-.~])+)/\s*,\s*(['"])\2\s*\)"""
)
_SOURCE = re.compile(r"""\bsource\s*:\s*(?:(['"])(?P<path>[^'"]*)\1|(?P<other>[^,}\n]+))""")
_DESTINATION = re.compile(r"""\bdestination\s*:\s*(?P<value>[^,}\n]+)""")
_LOOPBACK = re.compile(
    r"""\s*['"`]https?://(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])([:/'"`]|$)""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ApiRoute:
    """One path prefix served by the backend; ``strip``: the backend sees the rest only."""

    prefix: str
    strip: bool = False
    source: str = ""


@dataclass(frozen=True)
class ApiRoutes:
    """What the app's config says about its backend routes and where it is served."""

    routes: tuple[ApiRoute, ...] = ()
    base_path: str = ""  # "" or "/admin"
    unreadable: tuple[str, ...] = ()  # "file: what could not be read"
    own_rewrites: bool = False  # Next.js: the app's rewrites() route its API already
    #: Next.js rewrites kept as they are that send to a development address (localhost):
    #: production on Vercel cannot reach it. "file: source -> destination".
    dev_only: tuple[str, ...] = ()

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The prefixes, as the health gate probes them."""
        return tuple(r.prefix for r in self.routes)


def _segments(text: str, open_brace: int) -> dict[str, str]:
    """Top-level ``key: value`` segments of the object literal at ``open_brace``."""
    close, commas = _object_span(text, open_brace)
    found: dict[str, str] = {}
    for segment in _top_level_segments(text, open_brace, close, commas):
        body = _strip_comments(segment)
        match = _KEY.match(body)
        if match and not body.lstrip().startswith("..."):
            key = match.group("quoted") if match.group(1) else match.group("bare")
            found[key] = body[match.end() :]
        elif body.strip():
            found[f"\0{len(found)}"] = body.strip()  # unreadable: spread, computed, method
    return found


def _strip_comments(segment: str) -> str:
    out, i = [], 0
    while i < len(segment):
        if segment.startswith(("//", "/*"), i):
            i = _skip_literal(segment, i)
            continue
        if _is_literal_start(segment, i):
            end = _skip_literal(segment, i)
            out.append(segment[i:end])
            i = end
            continue
        out.append(segment[i])
        i += 1
    return "".join(out)


def _root(text: str, anchors: tuple[re.Pattern[str], ...]) -> dict[str, str] | None:
    found = [m.end() - 1 for anchor in anchors for m in anchor.finditer(text)]
    if len(found) != 1:
        return None
    try:
        return _segments(text, found[0])
    except ValueError:
        return None


def _object_value(value: str) -> dict[str, str] | None:
    start = value.find("{")
    if start < 0 or value[:start].strip():
        return None
    try:
        return _segments(value, start)
    except ValueError:
        return None


def literal_prefix(key: str) -> str | None:
    """The fixed path prefix of a proxy key or rewrite source; None when there is none.

    ``/backend`` -> ``/backend``; ``^/backend/.*`` -> ``/backend``; ``/api/:path*`` ->
    ``/api``; ``^/(v1|v2)/`` -> None (no literal segment to route on).
    """
    regex = key.startswith("^")
    path = key.removeprefix("^").replace("\\/", "/")
    if not path.startswith("/"):
        return None
    allowed = re.compile(r"[A-Za-z0-9_~\-]*" if regex else r"[A-Za-z0-9._~\-]*")
    segments: list[str] = []
    for segment in path[1:].split("/"):
        literal = allowed.match(segment)
        head = literal.group(0) if literal else ""
        if head and head == segment:
            segments.append(segment)
            continue
        if regex and head and segment[len(head)] in "$.(?[*":
            segments.append(head)
        break
    return "/" + "/".join(segments) if segments else None


def _vite_proxy(server: dict[str, str], source: str) -> tuple[list[ApiRoute], list[str]]:
    value = server.get("proxy")
    if value is None:
        return [], []
    table = _object_value(value)
    if table is None:
        return [], [f"{source}: server.proxy is not an object literal (held in a variable?)"]
    routes, unreadable = [], []
    for key, target in table.items():
        if key.startswith("\0"):
            unreadable.append(f"{source}: server.proxy entry `{target[:60]}` (spread or computed)")
            continue
        prefix = literal_prefix(key)
        if prefix is None:
            unreadable.append(f"{source}: server.proxy key {key!r} has no fixed path prefix")
            continue
        options = _object_value(target)  # None: a URL, or a target held in a variable
        strip = False
        if options and "rewrite" in options:
            stripped = _STRIP_REWRITE.search(options["rewrite"])
            if stripped is None or stripped.group("path").replace("\\/", "/") != prefix:
                unreadable.append(
                    f"{source}: server.proxy[{key!r}].rewrite changes the path in a way "
                    "that cannot be read"
                )
                continue
            strip = True
        routes.append(ApiRoute(prefix, strip, f"{source}: server.proxy[{key!r}]"))
    return routes, unreadable


def _base(value: str | None, source: str, unreadable: list[str]) -> str:
    if value is None:
        return ""
    literal = _STRING.match(value)
    if literal is None:
        unreadable.append(f"{source}: `base` is not a string literal")
        return ""
    base = literal.group("value").strip()
    if base.startswith(("http://", "https://", ".")) or base in ("", "/"):
        return ""  # a CDN or relative base: files are served from the root
    return "/" + base.strip("/")


def vite_routes(files: Mapping[str, str]) -> ApiRoutes:
    """The API routes and base of a Vite app (empty when it has no vite config)."""
    name = next((n for n in VITE_CONFIGS if n in files), None)
    if name is None:
        return ApiRoutes()
    text = files[name]
    root = _root(text, _VITE_ROOT)
    if root is None and (start := text.find("defineConfig(")) >= 0:
        root = _root(text[start:], (_RETURN,))  # defineConfig(({ mode }) => { ...; return {
    if root is None:
        if re.search(r"\bproxy\s*:", text):
            return ApiRoutes(unreadable=(f"{name}: no single config object literal to read",))
        return ApiRoutes()
    unreadable: list[str] = []
    server = _object_value(root["server"]) if "server" in root else {}
    if server is None:
        unreadable.append(f"{name}: `server` is not an object literal")
        server = {}
    routes, bad = _vite_proxy(server, name)
    base = _base(root.get("base"), name, unreadable)
    return ApiRoutes(tuple(routes), base, tuple(unreadable + bad))


def _rewrite_entries(body: str) -> list[str]:
    """The text of each innermost ``{ source, destination }`` object in ``body``."""
    entries, i = [], 0
    while (start := body.find("{", i)) >= 0:
        try:
            close, _ = _object_span(body, start)
        except ValueError:
            break
        chunk = body[start : close + 1]
        if "source" in chunk and not re.search(r"(?<!\$)\{", chunk[1:]):
            entries.append(chunk)
            i = close + 1
        else:
            i = start + 1
    return entries


def next_routes(files: Mapping[str, str]) -> ApiRoutes:
    """``basePath`` and the external rewrites of a Next.js app's config."""
    name = next((n for n in NEXT_CONFIGS if n in files), None)
    if name is None:
        return ApiRoutes()
    root = _root(files[name], _NEXT_ROOT)
    if root is None:
        if "rewrites" in files[name]:
            return ApiRoutes(unreadable=(f"{name}: no single config object literal to read",))
        return ApiRoutes()
    unreadable: list[str] = []
    dev_only: list[str] = []
    base = _base(root.get("basePath"), name, unreadable)
    rewrites = next((v for k, v in root.items() if k == "rewrites" or "rewrites" in v[:40]), None)
    if rewrites is None:
        return ApiRoutes(base_path=base, unreadable=tuple(unreadable))
    routes = []
    for chunk in _rewrite_entries(rewrites):
        source = _SOURCE.search(chunk)
        destination = _DESTINATION.search(chunk)
        if source is None or source.group("path") is None or destination is None:
            unreadable.append(f"{name}: rewrite `{' '.join(chunk.split())[:80]}`")
            continue
        if re.match(r"""\s*(['"`])/""", destination.group("value")):
            continue  # a page of the app itself, not the backend
        if _LOOPBACK.match(destination.group("value")):
            target = destination.group("value").strip().strip("'\"`")
            dev_only.append(f"{name}: {source.group('path')} -> {target}")
        prefix = literal_prefix(source.group("path"))
        if prefix is None:
            unreadable.append(
                f"{name}: rewrite source {source.group('path')!r} has no fixed prefix"
            )
            continue
        own_base = re.search(r"\bbasePath\s*:\s*false\b", chunk) is None
        full = (base if own_base else "") + prefix
        routes.append(ApiRoute(full, False, f"{name}: rewrites() source {source.group('path')!r}"))
    if not routes and not unreadable:
        unreadable.append(f"{name}: rewrites() found but none of its entries could be read")
    return ApiRoutes(tuple(routes), base, tuple(unreadable), True, tuple(dev_only))


def merge_declared(found: ApiRoutes, declared: tuple[str, ...] | None) -> ApiRoutes:
    """Prefixes given by the operator replace what could not be read (and the rest)."""
    if declared is None:
        return found
    routes = tuple(ApiRoute("/" + p.strip("/"), False, "parameter api_prefixes") for p in declared)
    return ApiRoutes(routes, found.base_path, (), found.own_rewrites, found.dev_only)
