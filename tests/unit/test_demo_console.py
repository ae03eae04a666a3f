"""The demo's intended failure is one explained line; any other failure shows in full."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

from prefect.logging.handlers import PrefectConsoleHandler

from orchestra_cli.demo import _is_the_injected_failure, _summarise
from orchestra_cli.demo_console import errors_held, replay
from orchestra_ops.domain.roadmap_metrics import success_metrics


def _console() -> tuple[PrefectConsoleHandler, io.StringIO]:
    out = io.StringIO()
    handler = PrefectConsoleHandler(stream=out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    return handler, out


def _fail(logger: logging.Logger) -> None:
    try:
        raise RuntimeError("health check failed")
    except RuntimeError:
        logger.exception("Task run failed with exception")


def test_run_errors_are_held_back_and_replayed_in_full_on_request() -> None:
    handler, out = _console()
    task_runs = logging.getLogger("prefect.task_runs.test_demo_console")
    task_runs.addHandler(handler)
    task_runs.propagate = False
    task_runs.setLevel(logging.INFO)
    try:
        with errors_held([handler]) as held:
            task_runs.info("rollback: promote: compensated")
            _fail(task_runs)
            task_runs.error("Finished in state Failed('...')")
        assert (
            out.getvalue()
            == "INFO prefect.task_runs.test_demo_console rollback: promote: compensated\n"
        )
        assert (len(held.records), held.tracebacks) == (2, 1)
        _fail(task_runs)  # after the block, errors print again
        assert out.getvalue().count("Traceback") == 1
        replay(held, [handler])
        assert out.getvalue().count("Traceback") == 2
        assert "Finished in state Failed" in out.getvalue()
    finally:
        task_runs.removeHandler(handler)


def _phase(name: str, state: str = "completed", **metrics: Any) -> dict[str, Any]:
    return {"phase": name, "state": state, "duration_s": 0.05, "detail": "", "metrics": metrics}


def test_only_the_injected_rollback_counts_as_intended() -> None:
    broken = _phase("1A admin interface", "failed", rolled_back=True, restored=True)
    report = {"phases": [broken, _phase("1B dashboard")]}
    assert _is_the_injected_failure(report, {"rollbacks": {"1A admin interface": True}})
    assert not _is_the_injected_failure(report, {"rollbacks": {"1A admin interface": False}})
    report["phases"].append(_phase("2A lambda dev", "failed"))
    assert not _is_the_injected_failure(report, {"rollbacks": {"1A admin interface": True}})


def test_the_summary_covers_every_run_and_explains_the_unmet_metric(tmp_path: Path) -> None:
    runs = [
        [
            _phase("1A admin interface", deploy_s=1.2),
            _phase("3A-3C dependency security", failing=7),
        ],
        [_phase("1A admin interface", "failed", rolled_back=True, restored=True)],
        [{**_phase("1A admin interface", deploy_s=1.2), "cached": True}],
    ]
    report = {
        "state": "completed",
        "phases": runs[-1],
        "metrics_over_runs": success_metrics([p for run in runs for p in run]),
        "demo_runs": [
            {"run": "cold", "state": "completed", "wall_s": 64.4, "rollbacks": {}},
            {
                "run": "broken",
                "state": "failed",
                "wall_s": 35.3,
                "rollbacks": {"1A admin interface": True},
            },
            {
                "run": "warm",
                "state": "completed",
                "wall_s": 4.7,
                "rollbacks": {},
                "mutating_api_calls": 0,
            },
        ],
    }
    lines: list[str] = []
    _summarise(report, tmp_path / "report.json", lines.append)
    text = "\n".join(lines)
    assert "completed (cached)" in text
    assert "rollback worked: met (1 rollback(s), 1 restored production)" in text
    assert "zero high/critical findings: not met" in text
    assert "pins vulnerable versions on purpose" in text
    assert "broken: failed in 35.3 s, 1A admin interface rolled back (production restored)" in text
    assert "warm: completed in 4.7 s, 0 mutating API calls" in text
    assert "{" not in text
