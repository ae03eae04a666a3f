"""Edit next.config (.js, .mjs, .ts) for Vercel, preserving everything else in the file.

Two changes: the ``/api/:path*`` rewrite (or one per declared prefix) to the backend API,
and ``output: 'standalone'``
kept only off Vercel (it is meaningless there and has broken builds). The config object
literal is found with a small scanner that skips strings, template literals and comments.
Where the file's shape is not one we can edit with certainty (a function config, a
wrapper like ``withX({...})``, an existing ``rewrites`` we would have to merge), it raises
:class:`ManualEditRequired` carrying the exact change to make by hand.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from orchestra_ops.errors import ConfigError

_ANCHORS = (
    re.compile(r"\bconst\s+nextConfig(?:\s*:\s*NextConfig)?\s*=\s*\{"),
    re.compile(r"\bmodule\.exports\s*=\s*\{"),
    re.compile(r"\bexport\s+default\s*\{"),
)
_OUTPUT_STANDALONE = re.compile(r"""output\s*:\s*(['"])standalone\1\s*,?""")
# A top-level ``rewrites`` entry, possibly after comments (a trailing comment ends up there).
_REWRITES_KEY = re.compile(r"(?:\s|//[^\n]*|/\*.*?\*/)*(async\s+)?rewrites\b", re.S)
_VERCEL_GUARD = "...(process.env.VERCEL ? {} : { output: 'standalone' }),"
_OPEN, _CLOSE = "{[(", "}])"


class ManualEditRequired(ConfigError):
    """The file cannot be edited safely; ``instructions`` says exactly what to change."""

    def __init__(self, source: str, why: str, instructions: str) -> None:
        super().__init__(
            f"{source}: {why}. Make this change by hand:\n{instructions}", source=source
        )
        self.instructions = instructions


@dataclass(frozen=True)
class NextConfigEdit:
    """The edited text and what changed."""

    text: str
    changes: tuple[str, ...]


def _skip_literal(text: str, i: int) -> int:
    """Index just past the string, template literal or comment starting at ``i``; a
    quoted string ends at its line at the latest (only a template literal spans lines),
    so a stray apostrophe cannot swallow the code after it."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    quote = text[i]
    j = i + 1
    while j < len(text) and text[j] != quote and (quote == "`" or text[j] != "\n"):
        j += 2 if text[j] == "\\" else 1
    return j + 1


def _is_literal_start(text: str, i: int) -> bool:
    return text[i] in "'\"`" or text.startswith("//", i) or text.startswith("/*", i)


def _object_span(text: str, open_brace: int) -> tuple[int, list[int]]:
    """The closing brace of the object at ``open_brace`` and its top-level comma offsets."""
    depth, i = 0, open_brace
    commas: list[int] = []
    while i < len(text):
        if _is_literal_start(text, i):
            i = _skip_literal(text, i)
            continue
        char = text[i]
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth == 0:
                return i, commas
        elif char == "," and depth == 1:
            commas.append(i)
        i += 1
    raise ValueError("unbalanced braces")


def _top_level_segments(text: str, open_brace: int, close: int, commas: list[int]) -> list[str]:
    bounds = [open_brace, *commas, close]
    return [text[a + 1 : b] for a, b in itertools.pairwise(bounds)]


def _rewrites_block(api_base: str, indent: str, prefixes: tuple[str, ...] = ("/api",)) -> str:
    inner = indent * 2
    entries = "".join(
        f"{inner}{indent}{{ source: '{p}/:path*', destination: '{api_base}{p}/:path*' }},\n"
        for p in prefixes
    )
    return f"{indent}async rewrites() {{\n{inner}return [\n{entries}{inner}]\n{indent}}},\n"


def _instructions(api_base: str) -> str:
    return (
        "  1. Replace `output: 'standalone',` with\n"
        f"       {_VERCEL_GUARD}\n"
        "  2. Add to the config object (or merge into an existing rewrites()):\n"
        + _rewrites_block(api_base, "       ")
    )


def _find_config_object(text: str, source: str, api_base: str) -> int:
    found = [m.end() - 1 for anchor in _ANCHORS for m in anchor.finditer(text)]
    if len(found) != 1:
        why = (
            "no plain config object literal found (a function or wrapped config?)"
            if not found
            else "several config object literals found"
        )
        raise ManualEditRequired(source, why, _instructions(api_base))
    return found[0]


def _depth_at(text: str, position: int) -> int:
    """Bracket depth at ``position``, ignoring brackets in strings and comments; -1 in one."""
    depth, i = 0, 0
    while i < position:
        if _is_literal_start(text, i):
            i = _skip_literal(text, i)
            if i > position:
                return -1  # a commented-out `output: 'standalone'` is not the setting
            continue
        depth += (text[i] in _OPEN) - (text[i] in _CLOSE)
        i += 1
    return depth


def edit_next_config(
    text: str,
    source: str,
    api_base: str,
    *,
    add_rewrite: bool = True,
    prefixes: tuple[str, ...] = ("/api",),
) -> NextConfigEdit:
    """Return ``text`` with the Vercel changes applied; idempotent.

    ``add_rewrite=False``: the app's own ``rewrites()`` already route its API (read by
    ``api_routes``), so they are kept as they are and only ``output`` is changed.
    """
    api_base = api_base.rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-:\[\]]+(/[A-Za-z0-9._~/\-]*)?", api_base):
        raise ConfigError(f"backend API base {api_base!r} is not a plain http(s) URL")
    open_brace = _find_config_object(text, source, api_base)
    try:
        close, commas = _object_span(text, open_brace)
    except ValueError:
        raise ManualEditRequired(source, "unbalanced braces", _instructions(api_base)) from None
    segments = _top_level_segments(text, open_brace, close, commas)
    body = text[open_brace : close + 1]
    changes: list[str] = []
    standalone = next(
        (m for m in _OUTPUT_STANDALONE.finditer(body) if _depth_at(body, m.start()) == 1), None
    )
    if standalone and "process.env.VERCEL" not in body:
        body = body[: standalone.start()] + _VERCEL_GUARD + body[standalone.end() :]
        changes.append("output: 'standalone' kept only off Vercel")
    if not add_rewrite:
        pass
    elif any(_REWRITES_KEY.match(s) for s in segments):
        if any(f"{p}/:path*" not in body for p in prefixes):
            raise ManualEditRequired(
                source, "it already has rewrites() that would need merging", _instructions(api_base)
            )
    else:
        indent = _indent_of(segments)
        before_close = body[:-1].rstrip()
        separator = "" if before_close.endswith((",", "{")) else ","
        body = f"{before_close}{separator}\n{_rewrites_block(api_base, indent, prefixes)}}}"
        changes += [f"rewrite {p}/:path* -> {api_base}{p}/:path*" for p in prefixes]
    return NextConfigEdit(text[:open_brace] + body + text[close + 1 :], tuple(changes))


def _indent_of(segments: list[str]) -> str:
    for segment in segments:
        match = re.search(r"\n([ \t]+)\S", segment)
        if match:
            return match.group(1)
    return "  "
