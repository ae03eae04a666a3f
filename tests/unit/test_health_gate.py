"""Health gate decisions: streaks, budgets, fail-fast, and what counts as healthy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra_ops.domain.health import (
    GateProgress,
    GateState,
    HealthPolicy,
    ProbeResult,
    advance,
    describe,
    judge,
)

OK = ProbeResult(200, 0.05)
BAD = ProbeResult(503, 0.05)


def _run(results: list[ProbeResult], policy: HealthPolicy, step_s: float = 1.0) -> GateProgress:
    progress = GateProgress()
    for index, result in enumerate(results, start=1):
        progress = advance(progress, result, index * step_s, policy)
    return progress


def test_passes_after_n_consecutive_good_probes() -> None:
    """A bad probe resets the streak; three good in a row pass."""
    policy = HealthPolicy(consecutive=3, budget_s=100)
    assert _run([OK, OK, BAD, OK, OK], policy).state is GateState.PROBING
    passed = _run([OK, OK, BAD, OK, OK, OK], policy)
    assert passed.state is GateState.PASSED
    assert describe(passed, policy) == "healthy: 3 good probes in a row (6 probes)"


def test_fails_when_the_budget_runs_out_with_the_last_reason() -> None:
    """Out of time without a streak: failed, and the report says why."""
    policy = HealthPolicy(consecutive=3, budget_s=3)
    failed = _run([OK, BAD, OK], policy)
    assert failed.state is GateState.FAILED
    assert describe(failed, policy) == "unhealthy after 3 probes: HTTP 503"


def test_fail_fast_stops_early() -> None:
    """Two bad answers in a row end the gate at once when asked to."""
    policy = HealthPolicy(consecutive=3, budget_s=100, fail_fast_after=2)
    assert _run([BAD, BAD], policy).state is GateState.FAILED
    assert _run([BAD, OK, BAD], policy).state is GateState.PROBING


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (ProbeResult(None, 5.0, error="timed out"), "no answer (timed out)"),
        (ProbeResult(500, 0.1), "HTTP 500"),
        (ProbeResult(200, 3.0), "slow: 3.00 s > 2.00 s"),
        (ProbeResult(200, 0.1, marker_seen=False), "body lacks 'Orchestra'"),
        (ProbeResult(301, 0.1), None),
    ],
)
def test_judge_reasons(result: ProbeResult, reason: str | None) -> None:
    """Status, latency and the body marker each decide."""
    assert judge(result, HealthPolicy(body_marker="Orchestra")) == reason


def test_policy_refuses_nonsense() -> None:
    """A gate that can never pass is a configuration error."""
    with pytest.raises(ValueError, match="consecutive"):
        HealthPolicy(consecutive=0)
    with pytest.raises(ValueError, match="positive"):
        HealthPolicy(budget_s=0)


@given(st.lists(st.booleans(), max_size=40))
def test_a_finished_gate_never_changes(outcomes: list[bool]) -> None:
    """Once passed or failed, more probes do not flip the verdict."""
    policy = HealthPolicy(consecutive=2, budget_s=10)
    progress = GateProgress()
    first_final = None
    for index, good in enumerate(outcomes, start=1):
        progress = advance(progress, OK if good else BAD, float(index), policy)
        if progress.state is not GateState.PROBING and first_final is None:
            first_final = progress
    if first_final is not None:
        assert progress == first_final
