"""The plan's success metrics over one run or several (the demo's three runs)."""

from __future__ import annotations

from typing import Any

from orchestra_ops.domain.roadmap_metrics import describe_metric, success_metrics


def _phase(name: str, state: str = "completed", cached: bool = False, **metrics: Any) -> Any:
    return {"phase": name, "state": state, "cached": cached, "metrics": metrics}


COLD = [
    _phase("1A admin interface", deploy_s=1.2, rolled_back=False),
    _phase("2A lambda dev", provision_s=15.8),
    _phase("3A-3C dependency security", failing=7, passed=False),
]
BROKEN = [
    _phase("1A admin interface", "failed", rolled_back=True, restored=True),
    _phase("2A lambda dev", cached=True, provision_s=15.8),
    _phase("3A-3C dependency security", failing=7, passed=False),
]
WARM = [
    _phase("1A admin interface", cached=True, deploy_s=1.2, rolled_back=False),
    _phase("2A lambda dev", cached=True, provision_s=15.8),
    _phase("3A-3C dependency security", cached=True, failing=7, passed=False),
]


def test_a_rollback_in_an_earlier_run_counts_in_the_metrics_over_all_runs() -> None:
    last_only = success_metrics(WARM)["rollback worked"]
    assert last_only == {
        "rollbacks": 0,
        "met": None,
        "why": "nothing failed, so nothing rolled back",
    }
    over_all = success_metrics([*COLD, *BROKEN, *WARM])
    assert over_all["rollback worked"] == {"rollbacks": 1, "restored": 1, "met": True}
    assert over_all["frontend deploy time under 2 minutes"] == {"value_s": 1.2, "met": True}
    assert over_all["provisioning under 10 minutes"] == {"value_s": 15.8, "met": True}


def test_a_rollback_that_left_production_broken_is_not_met_and_says_which() -> None:
    metric = success_metrics([_phase("1B dashboard", "failed", rolled_back=True)])
    assert metric["rollback worked"]["met"] is False
    assert "1B dashboard" in metric["rollback worked"]["why"]


def test_unmet_metrics_say_why() -> None:
    metrics = success_metrics([*COLD, _phase("1B dashboard", deploy_s=130.0)])
    findings = metrics["zero high/critical findings"]
    assert findings["met"] is False and findings["failing"] == 7
    assert "7 findings at or above the policy threshold" in findings["why"]
    deploy = metrics["frontend deploy time under 2 minutes"]
    assert deploy == {
        "value_s": 130.0,
        "met": False,
        "why": "the slowest deploy took 130 s, the goal is under 120 s",
    }
    assert success_metrics([])["provisioning under 10 minutes"]["met"] is None


def test_the_latest_scan_decides_the_findings() -> None:
    fixed = [*COLD, _phase("3A-3C dependency security", failing=0, passed=True)]
    assert success_metrics(fixed)["zero high/critical findings"] == {"failing": 0, "met": True}


def test_a_metric_reads_as_words() -> None:
    metrics = success_metrics([*COLD, *BROKEN])
    lines = [describe_metric(name, metric) for name, metric in metrics.items()]
    assert lines[3] == "rollback worked: met (1 rollback(s), 1 restored production)"
    assert lines[2].startswith("zero high/critical findings: not met (7 failing findings); 7 ")
    assert all("{" not in line and "None" not in line for line in lines)
