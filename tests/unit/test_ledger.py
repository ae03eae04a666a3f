"""The durable ledger: intents survive crashes, writers do not collide, reconcile isolates."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestra_ops.errors import ConfigError
from orchestra_ops.ledger import Closure, Decision, Intent, Ledger, reconcile


def test_step_closes_on_success_and_stays_open_on_failure(tmp_path: Path) -> None:
    """A finished step is closed; one that raised is left for reconciliation."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with ledger.step("k1", "deploy", {"project": "admin"}, {"action": "delete-deployment"}):
        pass
    with pytest.raises(RuntimeError):
        with ledger.step("k2", "deploy", {"project": "dash"}, {"action": "delete-deployment"}):
            raise RuntimeError("boom")
    assert [i.key for i in ledger.open_intents()] == ["k2"]
    assert ledger.open_intents()[0].target == {"project": "dash"}


def test_an_intent_needs_a_named_undo(tmp_path: Path) -> None:
    """Without an action there is nothing recovery could do."""
    with pytest.raises(ValueError, match="action"):
        Ledger(tmp_path / "l").intend("k", "s", {}, {"how": "somehow"})


def _append_many(path: str, writer: int) -> None:
    ledger = Ledger(Path(path))
    for n in range(100):
        ledger.intend(f"{writer}-{n}", "s", {"n": n, "pad": "x" * 500}, {"action": "a"})


def test_concurrent_processes_lose_and_tear_nothing(tmp_path: Path) -> None:
    """Four processes append 100 records each: 400 whole records come back."""
    path = tmp_path / "ledger.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    records = Ledger(path).records()
    assert len(records) == 400
    assert len({r["key"] for r in records}) == 400


def test_torn_last_line_is_ignored_but_corruption_elsewhere_is_not(tmp_path: Path) -> None:
    """A crash mid-append tears only the last line; anything else is reported."""
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.intend("k1", "s", {}, {"action": "a"})
    with open(path, "a") as handle:
        handle.write('{"kind": "intent", "key": "k2"')
    assert [i.key for i in ledger.open_intents()] == ["k1"]
    path.write_text('garbage\n{"kind": "done", "key": "k1", "at": 0}\n')
    with pytest.raises(ConfigError, match=r"ledger.jsonl:1: corrupt ledger record"):
        ledger.records()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"garbage\n", "not a JSON line"),  # a whole line, newline and all: not a torn write
        (b"garbage \x00\xff\xfe\n", "not a JSON line"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"kind": "intent", "key": "x"}\n', "an intent without step, target, undo, at"),
        (b'{"kind": "done"}\n', "no key"),
        (b'{"kind": "tok_CANARY", "key": "x"}\n', "an unknown kind"),
        (b'{"kind": "done", "key": "x", "saga": 123}\n', "a saga that is not a string"),
        (
            b'{"kind": "intent", "key": "x", "step": "s", "target": {}, "undo": {}, "at": true}\n',
            "an intent without at",
        ),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "not a JSON line"),
        (b'{"kind": "done", "key": "x", "at": ' + b"9" * 5000 + b"}\n", "not a JSON line"),
    ],
)
def test_a_line_that_is_no_record_names_the_file_and_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    """Only a last line without its newline is a torn write; every other bad line is refused
    with what is wrong, so `recover` never reads a damaged ledger as "nothing open"."""
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        Ledger(path).open_intents()
    assert str(caught.value) == f"{path}:1: corrupt ledger record ({problem})"


def test_blank_lines_and_hand_edited_line_ends_are_read_as_records(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    Ledger(path).intend("k1", "s", {}, {"action": "a"})
    Ledger(path).intend("k2", "s", {}, {"action": "a"})
    lines = path.read_bytes().splitlines()
    for ending in (b"\r\n", b"\r"):
        path.write_bytes(b"\n" + ending.join(lines) + ending + b"  \n")
        assert [i.key for i in Ledger(path).open_intents()] == ["k1", "k2"]


def test_a_ledger_that_is_not_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "ledger.jsonl").mkdir()
    with pytest.raises(ConfigError, match="the ledger cannot be read"):
        Ledger(tmp_path / "ledger.jsonl").records()


def test_a_killed_worker_leaves_an_open_intent_that_recovery_closes(tmp_path: Path) -> None:
    """SIGKILL between intent and completion; the next reconcile compensates it."""
    path = tmp_path / "ledger.jsonl"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from orchestra_ops.ledger import Ledger
        ledger = Ledger(Path({str(path)!r}))
        with ledger.step("run-1/launch", "launch", {{"name": "api-green"}},
                         {{"action": "terminate-instance"}}):
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL
    ledger = Ledger(path)
    (intent,) = ledger.open_intents()
    assert intent.action == "terminate-instance"
    terminated: list[str] = []

    def terminate(found: Intent) -> Decision:
        terminated.append(found.target["name"])
        return Decision(Closure.COMPENSATED, "terminated")

    report = reconcile(ledger, {"terminate-instance": terminate})
    assert report.clean
    assert terminated == ["api-green"]
    assert ledger.open_intents() == []
    assert ledger.records()[-1]["kind"] == "compensated"


def test_one_failing_compensator_does_not_stop_the_others(tmp_path: Path) -> None:
    """Isolation: the broken one stays open and reported, the rest are closed."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    for key, action in (("a", "explode"), ("b", "adopt"), ("c", "unknown")):
        ledger.intend(key, "s", {}, {"action": action})

    def explode(intent: Intent) -> Decision:
        raise RuntimeError("API down")

    def adopt(intent: Intent) -> Decision:
        return Decision(Closure.ADOPTED, "kept")

    report = reconcile(ledger, {"explode": explode, "adopt": adopt})
    assert [(i.key, d.outcome) for i, d in report.closed] == [("b", Closure.ADOPTED)]
    assert [(i.key, why) for i, why in report.failed] == [
        ("a", "RuntimeError: API down"),
        ("c", "no compensator for action 'unknown'"),
    ]
    assert sorted(i.key for i in ledger.open_intents()) == ["a", "c"]
    assert not report.clean
    assert os.path.getsize(ledger.path) > 0
