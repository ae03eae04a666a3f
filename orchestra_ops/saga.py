"""A run's compensation stack, kept in the durable ledger.

The rule (see also README, "Rollback"):

1. Before a step changes anything it journals an *intent* in the run's saga, with
   everything its undo needs already on disk (backups, previous ids).
2. Retries stay inside the step (Prefect task retries). A failed *attempt* undoes
   nothing: only when the flow's outcome is failure, after every retry, does the flow
   compensate, newest step first, each step isolated from the others.
3. A compensation that itself fails leaves its intent open: the run ends in the state
   ``RollbackFailed`` with an artifact and a notice to run ``orchestra-ops recover``.
4. When the run succeeds, its intents are closed ``done``. A crash closes nothing: the
   next run of the same target, or ``orchestra-ops recover``, settles the saga with the
   same compensators (adopting it only when its pivot step is verified healthy).

Prefect transactions are not used for this: their rollback hooks run on a failed
attempt that a retry may still recover, and never after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestra_ops.ledger import (
    Closure,
    Compensator,
    Decision,
    Intent,
    Ledger,
    ReconcileReport,
    reconcile,
)

UNDO_VERDICT = "verdict"


@dataclass(frozen=True)
class Saga:
    """The intents of one run against one target, in the ledger."""

    id: str
    ledger: Ledger

    def key(self, step: str) -> str:
        """The ledger key of ``step`` in this saga."""
        return f"{self.id}:{step}"

    def intend(self, step: str, target: Mapping[str, Any], undo: Mapping[str, Any]) -> str:
        """Journal ``step`` before it acts; writing it again (a retry) is harmless."""
        key = self.key(step)
        if not any(i.key == key for i in self.open_intents()):
            self.ledger.intend(key, step, target, undo, saga=self.id)
        return key

    def open_intents(self) -> list[Intent]:
        """This saga's open intents, oldest first."""
        return [i for i in self.ledger.open_intents() if i.saga == self.id]

    def decide_undo(self, why: str) -> None:
        """Record the run's verdict that it failed: whatever happens next, it is undone."""
        self.ledger.close(self.key(UNDO_VERDICT), Closure.COMPENSATED, why)

    def undo_decided(self) -> bool:
        """True once the run failed (or began undoing): never adopt such a saga. Only a
        saga whose run left no verdict at all is a plain crash."""
        prefix = f"{self.id}:"
        return any(
            r["kind"] != "intent" and str(r.get("key", "")).startswith(prefix)
            for r in self.ledger.records()
        )

    def complete(self, detail: str) -> None:
        """The run succeeded: close every open intent as done."""
        for intent in self.open_intents():
            self.ledger.close(intent.key, Closure.DONE, detail)

    def adopt(self, detail: str) -> ReconcileReport:
        """Keep what the saga did (e.g. a crashed run's release proved healthy)."""
        report = ReconcileReport()
        for intent in self.open_intents():
            self.ledger.close(intent.key, Closure.ADOPTED, detail)
            report.closed.append((intent, Decision(Closure.ADOPTED, detail)))
        return report

    def compensate(self, compensators: Mapping[str, Compensator]) -> ReconcileReport:
        """Undo every open intent, newest first; failures stay open and are reported."""
        return reconcile(self.ledger, compensators, lambda i: i.saga == self.id, newest_first=True)


def open_sagas(ledger: Ledger, prefix: str = "") -> list[Saga]:
    """Sagas with open intents whose id starts with ``prefix``, oldest first."""
    seen: dict[str, Saga] = {}
    for intent in ledger.open_intents():
        if intent.saga.startswith(prefix):
            seen.setdefault(intent.saga, Saga(intent.saga, ledger))
    return list(seen.values())
