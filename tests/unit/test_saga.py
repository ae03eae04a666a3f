"""The compensation stack: newest first, isolated, retry-safe, and settled as one run."""

from __future__ import annotations

from pathlib import Path

from orchestra_ops.errors import VercelUnavailable
from orchestra_ops.ledger import Closure, Decision, Intent, Ledger
from orchestra_ops.saga import Saga, open_sagas


def _saga(tmp_path: Path, name: str = "frontend:prj_1:run-1") -> Saga:
    return Saga(name, Ledger(tmp_path / "ledger.jsonl"))


def test_compensation_runs_newest_first_and_closes_each_step(tmp_path: Path) -> None:
    """config, env, promote are undone as promote, env, config."""
    saga = _saga(tmp_path)
    for step in ("config", "env", "promote"):
        saga.intend(step, {}, {"action": "undo"})
    undone: list[str] = []

    def undo(intent: Intent) -> Decision:
        undone.append(intent.step)
        return Decision(Closure.COMPENSATED, f"{intent.step} undone")

    report = saga.compensate({"undo": undo})
    assert undone == ["promote", "env", "config"]
    assert report.clean and saga.open_intents() == []


def test_journaling_a_step_again_on_retry_adds_no_second_intent(tmp_path: Path) -> None:
    """A retried attempt re-journals the same step: one intent, undone once."""
    saga = _saga(tmp_path)
    saga.intend("env", {"try": 1}, {"action": "undo"})
    saga.intend("env", {"try": 2}, {"action": "undo"})
    (intent,) = saga.open_intents()
    assert intent.target == {"try": 1}


def test_a_failing_compensation_stays_open_and_says_whether_a_retry_may_help(
    tmp_path: Path,
) -> None:
    """One transient failure: the other steps are still undone; the failed one stays open."""
    saga = _saga(tmp_path)
    for step in ("config", "promote"):
        saga.intend(step, {}, {"action": step})

    def promote(intent: Intent) -> Decision:
        raise VercelUnavailable("503 from POST /v9/projects/prj_1/rollback/dpl_1")

    def config(intent: Intent) -> Decision:
        return Decision(Closure.COMPENSATED, "restored")

    report = saga.compensate({"promote": promote, "config": config})
    assert [i.step for i, _ in report.closed] == ["config"]
    assert [i.step for i, _ in report.failed] == ["promote"]
    assert report.transient
    assert [i.step for i in saga.open_intents()] == ["promote"]
    again = saga.compensate({"promote": config, "config": config})  # the retry: only promote
    assert [i.step for i, _ in again.closed] == ["promote"]


def test_complete_and_adopt_close_everything_and_sagas_stay_apart(tmp_path: Path) -> None:
    """Two runs' sagas in one ledger; completing one leaves the other open."""
    first, second = _saga(tmp_path, "frontend:prj_1:a"), _saga(tmp_path, "frontend:prj_2:b")
    first.intend("env", {}, {"action": "undo"})
    second.intend("env", {}, {"action": "undo"})
    first.complete("migrated")
    assert [s.id for s in open_sagas(first.ledger)] == ["frontend:prj_2:b"]
    assert [s.id for s in open_sagas(first.ledger, "frontend:prj_1:")] == []
    report = second.adopt("healthy after the crash")
    assert [d.outcome for _, d in report.closed] == [Closure.ADOPTED]
    assert open_sagas(first.ledger) == []


def test_an_intent_written_without_a_saga_is_a_saga_of_its_own(tmp_path: Path) -> None:
    """Ledgers written before sagas existed still settle, one intent at a time."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.intend("frontend:prj_1:dpl_2:promote", "promote", {}, {"action": "vercel-rollback"})
    (saga,) = open_sagas(ledger, "frontend:prj_1:")
    assert saga.id == "frontend:prj_1:dpl_2:promote"
    assert [i.step for i in saga.open_intents()] == ["promote"]
