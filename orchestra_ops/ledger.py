"""The durable rollback ledger: intents written before acting, completions after.

Prefect's ``on_rollback`` hooks run only in-process, and a SIGKILL runs none. So every
mutating step writes an *intent* (idempotency key, step, target, how to undo) before it
acts and a *done* record after. Whatever is left open after a crash is reconciled by
the next run or by ``orchestra-ops recover``: each open intent is handed to the
compensator registered for its undo action, which looks at the real API and either
undoes the effect (``compensated``) or keeps it (``adopted``).

Storage is one append-only JSON-lines file. Appends take an exclusive ``flock`` and are
fsynced, so concurrent writers (threads or processes on one host) never interleave or
lose records. Records hold ids and names only, never credentials.
"""

from __future__ import annotations

import fcntl
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.files import append_line
from orchestra_ops.errors import ConfigError, is_transient


class Closure(StrEnum):
    """How an intent was closed (done, compensated, or adopted as it stood)."""

    DONE = "done"
    COMPENSATED = "compensated"
    ADOPTED = "adopted"


@dataclass(frozen=True)
class Intent:
    """A mutating step that was about to happen."""

    key: str
    step: str
    target: dict[str, Any]
    undo: dict[str, Any]
    at: float
    saga: str = ""  # the run it belongs to; an intent written without one is its own

    def __post_init__(self) -> None:
        if not self.saga:
            object.__setattr__(self, "saga", self.key)

    @property
    def action(self) -> str:
        """The name of the compensator that can undo it."""
        return str(self.undo.get("action", ""))


@dataclass(frozen=True)
class Decision:
    """What a compensator did (or would do) with one intent, and why.

    ``changed`` is False when the compensator found nothing to change (already undone).
    """

    outcome: Closure
    detail: str
    changed: bool = True


Compensator = Callable[[Intent], Decision]
"""Looks at the real API for ``intent`` and undoes (COMPENSATED) or keeps (ADOPTED) it."""


@dataclass
class ReconcileReport:
    """What a reconciliation did: closed intents, and the ones that could not be closed."""

    closed: list[tuple[Intent, Decision]] = field(default_factory=list)
    failed: list[tuple[Intent, str]] = field(default_factory=list)
    transient: bool = False  # some failure may pass on a later attempt

    @property
    def clean(self) -> bool:
        """True when no intent is left open."""
        return not self.failed


class Ledger:
    """An append-only, fsynced, lock-protected ledger file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, state_dir: Path) -> Ledger:
        """The ledger of a state directory."""
        return cls(state_dir / "ledger.jsonl")

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        append_line(self.path, line, locked=True)

    def records(self) -> list[dict[str, Any]]:
        """Every record, oldest first. A last line without its newline is a write a crash
        tore, and is left out; any other line that is not a whole record is a ConfigError
        naming the file and the line."""
        try:
            with open(self.path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)
                try:
                    data = handle.read()
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ConfigError(
                f"{self.path}: the ledger cannot be read ({error.strerror})", source=str(self.path)
            ) from None
        lines = data.splitlines(keepends=True)  # \n as written; \r\n or \r if hand-edited
        torn = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        records = [
            self._record(number, line)
            for number, line in enumerate(lines, start=1)
            if line.strip()  # a blank line (an editor's) holds no record
        ]
        if torn.strip():
            try:
                records.append(self._record(len(lines) + 1, torn))
            except ConfigError:
                pass  # the crash came mid-write: the step it would record did not start
        return records

    def _record(self, number: int, line: bytes) -> dict[str, Any]:
        """One line as a record, checked for the fields the readers use."""
        try:
            record = json.loads(line.decode("utf-8"))
            problem = _record_problem(record)
        except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: JSON's too
            problem = "not a JSON line"
        if problem:
            raise ConfigError(
                f"{self.path}:{number}: corrupt ledger record ({problem})", source=str(self.path)
            )
        return dict(record)

    def intend(
        self,
        key: str,
        step: str,
        target: Mapping[str, Any],
        undo: Mapping[str, Any],
        saga: str | None = None,
    ) -> None:
        """Record that ``step`` is about to act on ``target``; ``undo['action']`` names how.

        ``saga`` groups the intents of one run, which are undone or kept together.
        """
        if "action" not in undo:
            raise ValueError("undo needs an 'action' naming its compensator")
        record = {
            "kind": "intent",
            "key": key,
            "step": step,
            "target": dict(target),
            "undo": dict(undo),
            "at": time.time(),
        }
        if saga is not None:
            record["saga"] = saga
        self._append(record)

    def close(self, key: str, outcome: Closure, detail: str = "") -> None:
        """Record how the intent ``key`` ended."""
        self._append({"kind": outcome.value, "key": key, "detail": detail, "at": time.time()})

    def open_intents(self) -> list[Intent]:
        """Intents with no closing record, oldest first."""
        pending: dict[str, Intent] = {}
        for record in self.records():
            if record["kind"] == "intent":
                pending[record["key"]] = Intent(
                    record["key"],
                    record["step"],
                    record["target"],
                    record["undo"],
                    record["at"],
                    record.get("saga") or "",
                )
            else:
                pending.pop(record["key"], None)
        return list(pending.values())

    @contextmanager
    def step(
        self, key: str, step: str, target: Mapping[str, Any], undo: Mapping[str, Any]
    ) -> Iterator[None]:
        """Intent before the block, done after it; an exception leaves the intent open."""
        self.intend(key, step, target, undo)
        yield
        self.close(key, Closure.DONE)


def reconcile(
    ledger: Ledger,
    compensators: Mapping[str, Compensator],
    select: Callable[[Intent], bool] | None = None,
    *,
    newest_first: bool = False,
) -> ReconcileReport:
    """Hand each open intent to its compensator; one failing does not stop the others.

    ``select`` limits the run to some intents (e.g. one project's); the rest stay open.
    ``newest_first`` undoes in the reverse order of the steps, as a compensation stack.
    """
    report = ReconcileReport()
    intents = ledger.open_intents()
    for intent in reversed(intents) if newest_first else intents:
        if select is not None and not select(intent):
            continue
        compensator = compensators.get(intent.action)
        if compensator is None:
            report.failed.append((intent, f"no compensator for action {intent.action!r}"))
            continue
        try:
            decision = compensator(intent)
        except Exception as error:  # isolated: the next intent still gets its turn
            report.failed.append((intent, f"{type(error).__name__}: {error}"))
            report.transient = report.transient or is_transient(error)
            continue
        ledger.close(intent.key, decision.outcome, decision.detail)
        report.closed.append((intent, decision))
    return report


_CLOSINGS = {closure.value for closure in Closure}
_INTENT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "step": str,
    "target": dict,
    "undo": dict,
    "at": (int, float),
}


def _record_problem(record: object) -> str:
    """What is wrong with a parsed ledger line, or "" when it is a record readers can use."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("key"), str):
        return "no key"
    if not isinstance(record.get("saga", ""), str):
        return "a saga that is not a string"
    kind = record.get("kind")
    if kind == "intent":
        missing = [f for f, type_ in _INTENT_FIELDS.items() if not _is(record.get(f), type_)]
        return f"an intent without {', '.join(missing)}" if missing else ""
    return "" if kind in _CLOSINGS else "an unknown kind"  # its value is not repeated


def _is(value: object, type_: type | tuple[type, ...]) -> bool:
    """``isinstance``, where a bool (no record field is one) is no number and a number is
    finite."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return False
    return isinstance(value, type_)
