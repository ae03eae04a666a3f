"""Progress of long steps as milestones: 100 only once the step is really done."""

from __future__ import annotations

from orchestra_ops.domain.progress import deployment_percent, stack_percent
from orchestra_ops.domain.vercel import DeploymentState as S


def test_a_deployment_reaches_100_only_ready_with_its_alias() -> None:
    steps = [(S.QUEUED, False), (S.BUILDING, False), (S.READY, False), (S.READY, True)]
    figures = [deployment_percent(state, alias) for state, alias in steps]
    assert figures == [10.0, 50.0, 90.0, 100.0]
    assert deployment_percent(S.ERROR, False) is None  # the bar stays where it was


def test_a_stack_update_counts_its_planned_steps_and_waits_for_the_end() -> None:
    assert stack_percent(3, 12) == 25.0
    assert stack_percent(12, 12) == 99.0  # the summary, not the last step, ends it
    assert stack_percent(14, 12) == 99.0
    assert stack_percent(4, None) == stack_percent(4, 0) == 5.0
