"""Roadmap figures: the plan's success metrics, and the critical-path lower bound of B1.

Pure: durations and phase results come in as data, nothing here times or runs anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The phase DAG of flows/roadmap.py: 1C starts once 1A and 1B are both live; 2A
# provisions dev then prod, and 2B and 2C follow 2A; weeks 1, 2 and 3 are independent.
# Keep the two in step: bench/roadmap.py refuses a phase it does not find here.
_DEV, _PROD = "2A lambda dev", "2A lambda prod"
ROADMAP_PREREQUISITES: Mapping[str, tuple[str, ...]] = {
    "1A admin interface": (),
    "1B dashboard": (),
    "1C deploy workflow": ("1A admin interface", "1B dashboard"),
    _DEV: (),
    _PROD: (_DEV,),
    "2B infrastructure workflow": (_DEV, _PROD),
    "2C state backup": (_DEV, _PROD),
    "3A-3C dependency security": (),
    "4A-4C pulumi reorganisation": (),
}


def critical_path_s(
    durations: Mapping[str, float],
    prerequisites: Mapping[str, Sequence[str]] = ROADMAP_PREREQUISITES,
) -> float:
    """The longest dependency chain of ``durations``: no schedule of these phases ends sooner.

    Only the phases in ``durations`` count (a run need not have every phase of the
    structure); a phase absent from ``prerequisites`` has none. Raises ``ValueError`` on a negative
    duration, a prerequisite without a measured duration, or a dependency cycle.
    """
    for name, seconds in durations.items():
        if seconds < 0:
            raise ValueError(
                f"phase {name!r} has a negative duration ({seconds}); pass seconds >= 0"
            )
    finish: dict[str, float] = {}

    def end(name: str, chain: tuple[str, ...]) -> float:
        if name in finish:
            return finish[name]
        if name in chain:
            raise ValueError(f"the phase dependencies form a cycle: {' -> '.join((*chain, name))}")
        if name not in durations:
            raise ValueError(
                f"phase {name!r} is a prerequisite of {chain[-1]!r} but has no duration"
            )
        after = (end(before, (*chain, name)) for before in prerequisites.get(name, ()))
        finish[name] = max(after, default=0.0) + durations[name]
        return finish[name]

    return max((end(name, ()) for name in durations), default=0.0)


#: The plan's goals: a frontend deploy under 2 minutes, a provisioning under 10.
DEPLOY_GOAL_S = 120.0
PROVISION_GOAL_S = 600.0
SECURITY_PHASE = "3A-3C dependency security"


def success_metrics(phases: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The plan's success metrics over the phases of one run, or of several runs in order.

    Each phase is a PhaseResult as data (``phase``, ``state``, ``metrics``). A cached
    phase carries the figures of the run that did its work: they still describe what is
    live, and repeating them changes no maximum. Rollbacks add up over every run given (a
    failed phase is never cached, so none is counted twice); the findings are the latest
    scan's. A metric that is not met says why in ``why``.
    """
    deploys = [float(p["metrics"]["deploy_s"]) for p in phases if p["metrics"].get("deploy_s")]
    provisions = [
        float(p["metrics"]["provision_s"]) for p in phases if p["metrics"].get("provision_s")
    ]
    scans = [p for p in phases if p["phase"] == SECURITY_PHASE and "failing" in p["metrics"]]
    rollbacks = [p for p in phases if p["metrics"].get("rolled_back")]
    return {
        "frontend deploy time under 2 minutes": _goal(deploys, DEPLOY_GOAL_S, "deploy"),
        "provisioning under 10 minutes": _goal(provisions, PROVISION_GOAL_S, "provisioning"),
        "zero high/critical findings": _findings(scans[-1]["metrics"] if scans else None),
        "rollback worked": _rollbacks(rollbacks),
    }


def _goal(values: list[float], goal_s: float, what: str) -> dict[str, Any]:
    if not values:
        return {"value_s": None, "met": None, "why": f"no {what} ran in these runs"}
    worst = max(values)
    metric: dict[str, Any] = {"value_s": worst, "met": worst < goal_s}
    if not metric["met"]:
        metric["why"] = f"the slowest {what} took {worst:g} s, the goal is under {goal_s:g} s"
    return metric


def _findings(scan: Mapping[str, Any] | None) -> dict[str, Any]:
    if scan is None:
        return {"failing": None, "met": None, "why": "the security scan did not finish"}
    failing = int(scan["failing"])
    metric: dict[str, Any] = {"failing": failing, "met": failing == 0}
    if failing:
        metric["why"] = (
            f"{failing} findings at or above the policy threshold are open; "
            "the scan's report lists each with its fix"
        )
    return metric


def _rollbacks(rolled_back: list[Mapping[str, Any]]) -> dict[str, Any]:
    if not rolled_back:
        return {"rollbacks": 0, "met": None, "why": "nothing failed, so nothing rolled back"}
    restored = [p for p in rolled_back if p["metrics"].get("restored")]
    metric: dict[str, Any] = {
        "rollbacks": len(rolled_back),
        "restored": len(restored),
        "met": len(restored) == len(rolled_back),
    }
    if not metric["met"]:
        left = ", ".join(p["phase"] for p in rolled_back if p not in restored)
        metric["why"] = f"the rollback of {left} did not restore production"
    return metric


def describe_metric(name: str, metric: Mapping[str, Any]) -> str:
    """One line for people: ``rollback worked: met (1 rollback, production restored)``."""
    verdict = {True: "met", False: "not met", None: "not measured"}[metric.get("met")]
    facts = []
    if metric.get("value_s") is not None:
        facts.append(f"slowest {metric['value_s']:g} s")
    if metric.get("failing") is not None:
        facts.append(f"{metric['failing']} failing findings")
    if metric.get("rollbacks"):
        facts.append(
            f"{metric['rollbacks']} rollback(s), {metric.get('restored', 0)} restored production"
        )
    line = f"{name}: {verdict}" + (f" ({', '.join(facts)})" if facts else "")
    return line + (f"; {metric['why']}" if metric.get("why") else "")
