"""Python source parsed into a syntax tree, safe from CPython 3.11's re-entrant parse.

Before 3.11.8 (gh-106905), the conversion of a parsed tree into ``ast`` objects keeps its
recursion depth in state shared by every call. A garbage collection during that
conversion can run a finalizer that formats a traceback (asyncio's "exception was never
retrieved", logged with its traceback), and 3.11's traceback formatting parses source
lines itself. The inner parse resets the shared depth and the outer one fails with
``SystemError: AST constructor recursion depth mismatch``. No collection runs while a
tree is converted here.
"""

from __future__ import annotations

import ast
import gc
import threading

# One parse at a time holds the collector paused: two overlapping pauses would each see
# the other's, and the one that saw "already paused" would never resume it. A parse holds
# the GIL throughout, so taking turns costs no parallelism.
_PAUSED = threading.RLock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source)`` with the garbage collector paused while it runs."""
    with _PAUSED:
        was_enabled = gc.isenabled()
        try:  # disabled inside: an interrupt right after it still reaches the finally
            gc.disable()
            return ast.parse(source, filename=filename)
        finally:
            if was_enabled:
                gc.enable()
