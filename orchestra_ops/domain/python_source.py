"""Python source parsed into a syntax tree, safe from CPython 3.11's re-entrant parse.

On CPython 3.11 the conversion of a parsed tree into ``ast`` objects keeps its recursion
depth in state shared by every call. A garbage collection during that conversion can run
a finalizer that formats a traceback (asyncio's "exception was never retrieved", logged
with its traceback), and 3.11's traceback formatting parses source lines itself. The
inner parse resets the shared depth and the outer one fails with ``SystemError: AST
constructor recursion depth mismatch``. No collection runs while a tree is converted here.
"""

from __future__ import annotations

import ast
import gc


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source)`` with the garbage collector paused while it runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=filename)
    finally:
        if was_enabled:
            gc.enable()
