"""Parsing Python source while garbage with a traceback-formatting finalizer is collected.

On CPython 3.11 a bare ``ast.parse`` fails here with ``SystemError: AST constructor
recursion depth mismatch``: the finalizer's traceback formatting parses a source line in
the middle of the outer conversion. Seen in the suite when the layering test ran after the
provisioning chaos module on the same worker (asyncio futures whose exceptions nobody
retrieved, logged with their tracebacks when collected).
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
import time
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


@pytest.mark.skipif(
    not (3, 11) <= sys.version_info < (3, 11, 8), reason="3.11 before 3.11.8 parses re-entrantly"
)
@pytest.mark.usefixtures("collected_often")
def test_a_bare_parse_fails_there_which_is_why_the_helper_exists() -> None:
    """The interpreter defect the helper works around, shown on this interpreter (the first
    test proves nothing where a bare parse would pass too)."""
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


def test_overlapping_parses_in_two_threads_leave_the_collector_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second thread's parse that starts while the first has the collector paused and
    pauses it only after the first resumed it: unguarded, the second took "paused" for
    the state to return to, and the collector stayed off for good."""
    real_disable = gc.disable
    first_done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            parse("y = 2")
        except BaseException as error:  # asserted below
            errors.append(error)

    other = threading.Thread(target=second)

    def disable() -> None:
        if threading.current_thread() is threading.main_thread():
            real_disable()
            other.start()
            time.sleep(0.2)  # unguarded, the second now sees the collector paused
        else:
            first_done.wait(5)
            real_disable()

    monkeypatch.setattr(gc, "disable", disable)
    parse("x = 1")
    first_done.set()
    other.join(5)
    left_on = gc.isenabled()
    gc.enable()  # whatever happened, the rest of the session runs with the collector on
    assert errors == []
    assert left_on


@pytest.mark.parametrize(
    "source", ["x = " + "-" * 100_000 + "1", "x = " + "(" * 300 + ")" * 300, "x = \0"]
)
def test_an_entry_point_no_parser_can_read_is_not_one_of_our_programs(source: str) -> None:
    """Nesting too deep for the parser, or a NUL byte: an answer (not ours), not a crash."""
    assert not runs_program(source, "orchestra_ops.adapters.pulumi.programs.backend")


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
