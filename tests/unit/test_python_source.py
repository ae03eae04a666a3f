"""Parsing Python source while garbage with a traceback-formatting finalizer is collected.

On CPython 3.11 a bare ``ast.parse`` fails here with ``SystemError: AST constructor
recursion depth mismatch``: the finalizer's traceback formatting parses a source line in
the middle of the outer conversion. Seen in the suite when the layering test ran after the
provisioning chaos module on the same worker (asyncio futures whose exceptions nobody
retrieved, logged with their tracebacks when collected).
"""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestra_ops.adapters.pulumi.programs import runs_program
from orchestra_ops.domain.python_source import parse

SOURCE = (Path(__file__).resolve().parents[2] / "orchestra_ops" / "wiring.py").read_text()


class _LogsATracebackWhenCollected:
    """In a reference cycle, so only the garbage collector frees it."""

    def __init__(self, formatted: list[str]) -> None:
        self.cycle = self
        self.formatted = formatted

    def __del__(self) -> None:
        try:
            {}["missing"]["key"]  # raised to be formatted
        except KeyError as error:
            self.formatted.append("".join(traceback.format_exception(error)))


@pytest.fixture
def collected_often() -> Iterator[None]:
    """A collection every few allocations, as a busy worker's heap makes them."""
    thresholds = gc.get_threshold()
    gc.set_threshold(50)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collected_often")
def test_a_finalizer_that_formats_a_traceback_does_not_break_a_parse() -> None:
    formatted: list[str] = []
    for _ in range(100):
        _LogsATracebackWhenCollected(formatted)
        tree = parse(SOURCE, filename="wiring.py")
        assert any(getattr(node, "name", None) == "build" for node in tree.body)
    gc.collect()
    assert len(formatted) == 100  # every finalizer ran (after the parses, not inside them)
    assert all("KeyError" in text for text in formatted)


@pytest.mark.usefixtures("collected_often")
def test_the_program_check_keeps_its_answer_under_the_same_collections() -> None:
    formatted: list[str] = []
    entry = "from orchestra_ops.adapters.pulumi.programs.backend import program\n\nprogram()\n"
    for _ in range(100):
        _LogsATracebackWhenCollected(formatted)
        assert runs_program(entry, "orchestra_ops.adapters.pulumi.programs.backend")
    gc.collect()
    assert len(formatted) == 100


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the re-entrant parse is 3.11's")
@pytest.mark.usefixtures("collected_often")
def test_a_bare_parse_fails_there_which_is_why_the_helper_exists() -> None:
    """The interpreter defect the helper works around, shown on this interpreter (the first
    test proves nothing where a bare parse would pass too)."""
    import ast

    formatted: list[str] = []
    try:
        for _ in range(100):
            _LogsATracebackWhenCollected(formatted)
            ast.parse(SOURCE)
    except SystemError as error:
        assert "recursion depth mismatch" in str(error)
    else:
        pytest.fail(f"Python {sys.version.split()[0]} parses re-entrantly: the pause may go")
    finally:
        gc.collect()


def test_a_parse_leaves_the_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    parse("x = 1")
    assert gc.isenabled()
    gc.disable()
    try:
        parse("x = 1")
        assert not gc.isenabled()
    finally:
        gc.enable()
