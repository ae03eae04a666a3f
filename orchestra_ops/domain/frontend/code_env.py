"""The environment variables an app's own code reads, and which of them it cannot do without.

Pure: the caller passes source texts keyed by path relative to the app. Read:

- Vite: ``import.meta.env.VITE_*`` (and ``import.meta.env['VITE_*']``);
- Next.js: ``process.env.NEXT_PUBLIC_*`` anywhere, and any ``process.env.X`` (server
  side: route handlers, server components, next.config).

A read is *optional* when the code gives it a real fallback or only tests it:
``?? 'x'`` / ``|| 'x'`` with a non-empty literal, ``X ? a : b``, ``X && ...``,
``if (X)`` / ``if (!X)`` unless it throws (a file that tests X handles its absence in all its reads
of X). ``?? ''`` is no fallback: the app then calls the wrong
place silently. A next.config ``env: { X: process.env.X }`` only forwards X to the code,
which decides. Variables Vercel or Node set themselves are never required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from orchestra_ops.domain.frontend.detect import Framework
from orchestra_ops.domain.frontend.next_config import _is_literal_start, _skip_literal

CODE_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".vue", ".svelte")
_VITE_READ = re.compile(
    r"""import\.meta\.env(?:\.(?P<dot>VITE_\w+)|\[\s*(['"])(?P<index>VITE_\w+)\2\s*\])"""
)
_NODE_READ = re.compile(
    r"""process\.env(?:\.(?P<dot>[A-Z_]\w*)|\[\s*(['"])(?P<index>\w+)\2\s*\])"""
)
_PROVIDED = re.compile(r"^(VERCEL\w*|NODE_ENV|NEXT_RUNTIME|NEXT_PHASE|CI|PORT|HOSTNAME|TZ|PWD)$")
_FALLBACK = re.compile(
    r"""\s*(\?\?|\|\|)\s*(?:(['"`])(?P<literal>.*?)\2|(?P<other>[^\s)'"`;,]+))"""
)
_TESTED_AFTER = re.compile(r"\s*(&&|\?(?![?.])|\)\s*\{|\)\s*return\b)")
_THROWS = re.compile(r"\s*\)\s*(?:\{\s*)?throw\b")  # if (!X) throw: the app needs X
_TESTED_BEFORE = re.compile(r"(\bif\s*\(\s*!?\s*|!!?\s*)$")
_FORWARD = re.compile(r"\b(\w+)\s*:\s*process\.env\.(\w+)\b")
_NO_VALUE = ("undefined", "null", "false")
_CONFIG_NAMES = ("next.config.js", "next.config.mjs", "next.config.ts")


@dataclass(frozen=True)
class CodeRead:
    """Every place the code reads ``key``; ``required`` when one read has no fallback."""

    key: str
    places: tuple[str, ...]  # "src/api.ts:3"
    required: bool


def _optional(text: str, start: int, end: int) -> bool:
    fallback = _FALLBACK.match(text, end)
    if fallback:
        literal = fallback.group("literal")
        other = fallback.group("other")
        return bool(literal) or (other is not None and other not in _NO_VALUE)
    return _tested(text, start, end)


def _tested(text: str, start: int, end: int) -> bool:
    if _THROWS.match(text, end):
        return False
    before = text[max(0, start - 20) : start]
    return bool(_TESTED_AFTER.match(text, end) or _TESTED_BEFORE.search(before))


def _forwards(text: str) -> set[int]:
    """Offsets of ``process.env.X`` reads that only forward X under its own name."""
    return {m.start(2) - len("process.env.") for m in _FORWARD.finditer(text) if m[1] == m[2]}


def without_comments(text: str) -> str:
    """``text`` with its ``//`` and ``/* */`` comments blanked (newlines kept, so offsets
    and line numbers hold); strings are skipped, a quoted one ending at its line."""
    out = list(text)
    i = 0
    while i < len(text):
        if not _is_literal_start(text, i):
            i += 1
            continue
        end = _skip_literal(text, i)
        if text.startswith(("//", "/*"), i):
            out[i:end] = [c if c == "\n" else " " for c in text[i:end]]
        i = end
    return "".join(out)


def code_reads(framework: Framework, texts: Mapping[str, str]) -> list[CodeRead]:
    """What the app's code reads, sorted by key; never a variable Vercel provides (nor
    one named only in a comment)."""
    pattern = _VITE_READ if framework is Framework.VITE else _NODE_READ
    places: dict[str, list[str]] = {}
    required: dict[str, bool] = {}
    for path in sorted(texts):
        text = without_comments(texts[path])
        skip = _forwards(text) if path in _CONFIG_NAMES else set()
        hard: dict[str, bool] = {}
        tested: set[str] = set()  # a file that tests X handles X's absence everywhere in it
        for match in pattern.finditer(text):
            key = match.group("dot") or match.group("index")
            if _PROVIDED.match(key) or match.start() in skip:
                continue
            line = text.count("\n", 0, match.start()) + 1
            places.setdefault(key, []).append(f"{path}:{line}")
            if _tested(text, match.start(), match.end()):
                tested.add(key)
            unguarded = not _optional(text, match.start(), match.end())
            hard[key] = hard.get(key, False) or unguarded
        for key, unguarded in hard.items():
            required[key] = required.get(key, False) or (unguarded and key not in tested)
    return [CodeRead(k, tuple(places[k]), required[k]) for k in sorted(places)]


def unmet(reads: list[CodeRead], available: set[str]) -> list[CodeRead]:
    """The required reads whose variable has no value anywhere the deploy will have it."""
    return [r for r in reads if r.required and r.key not in available]
