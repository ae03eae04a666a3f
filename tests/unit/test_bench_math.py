"""The critical-path lower bound behind benchmark B1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra_ops.domain.roadmap_metrics import ROADMAP_PREREQUISITES, critical_path_s

seconds = st.floats(min_value=0, max_value=1e4, allow_nan=False)


def _roadmap(a: float, b: float, c: float, security: float, reorg: float) -> dict[str, float]:
    return {
        "1A admin interface": a,
        "1B dashboard": b,
        "1C deploy workflow": c,
        "2A lambda dev": 0.0,
        "3A-3C dependency security": security,
        "4A-4C pulumi reorganisation": reorg,
    }


def test_deploy_workflow_waits_for_the_slower_frontend() -> None:
    """1C follows the longer of 1A and 1B; the chain beats the independent phases."""
    assert critical_path_s(_roadmap(30, 50, 2, 40, 10)) == 52


def test_an_independent_phase_can_be_the_critical_path() -> None:
    """When security outlasts both frontends plus 1C, it alone bounds the run."""
    assert critical_path_s(_roadmap(30, 20, 1, 45, 10)) == 45


@given(seconds, seconds, seconds, seconds, seconds)
def test_the_bound_is_the_longest_chain_of_the_roadmap(
    a: float, b: float, c: float, security: float, reorg: float
) -> None:
    """Against the closed form of the roadmap DAG, for any durations."""
    expected = max(max(a, b) + c, security, reorg)
    assert critical_path_s(_roadmap(a, b, c, security, reorg)) == pytest.approx(expected)


def test_every_roadmap_phase_has_its_prerequisites_in_the_structure() -> None:
    """The default structure is closed: each prerequisite is itself a phase."""
    named = set(ROADMAP_PREREQUISITES)
    assert all(set(before) <= named for before in ROADMAP_PREREQUISITES.values())


@given(seconds, seconds, seconds, seconds, seconds)
def test_week_two_provisions_dev_then_prod_then_the_rest(
    dev: float, prod: float, workflow: float, backup: float, security: float
) -> None:
    """2A prod follows 2A dev; 2B and 2C each follow both."""
    durations = {
        "2A lambda dev": dev,
        "2A lambda prod": prod,
        "2B infrastructure workflow": workflow,
        "2C state backup": backup,
        "3A-3C dependency security": security,
    }
    expected = max(dev + prod + max(workflow, backup), security)
    assert critical_path_s(durations) == pytest.approx(expected)


def test_a_long_chain_adds_up() -> None:
    """A -> B -> C runs one after another."""
    chain = {"B": ("A",), "C": ("B",)}
    assert critical_path_s({"A": 1.5, "B": 2.0, "C": 0.5}, chain) == 4.0


def test_no_phases_means_no_time() -> None:
    """An empty run has a zero bound."""
    assert critical_path_s({}) == 0.0


def test_a_cycle_is_refused() -> None:
    """A dependency cycle has no schedule at all."""
    with pytest.raises(ValueError, match="cycle"):
        critical_path_s({"A": 1.0, "B": 1.0}, {"A": ("B",), "B": ("A",)})


def test_a_prerequisite_without_a_duration_is_refused() -> None:
    """A missing measurement would silently shorten the bound."""
    with pytest.raises(ValueError, match="no duration"):
        critical_path_s({"1C deploy workflow": 1.0})


def test_a_negative_duration_is_refused() -> None:
    """Durations are elapsed seconds."""
    with pytest.raises(ValueError, match="negative"):
        critical_path_s({"A": -1.0}, {})
