"""Track 0 benchmarks from the demo: the roadmap cold, broken in production, then warm.

B1: the cold run's wall time / the critical-path lower bound, the longest chain of the
    phase DAG over the phase durations measured in that same run (goal at most 1.15).
B2: the warm re-run's wall time / the cold run's (goal at most 0.10), and the mutating
    API calls the warm re-run makes (goal 0).

The runs are the demo's own (``orchestra_cli.demo.run_demo``). A warm-up flow starts
Prefect's local server first, so its start-up is not counted as roadmap time.
Run with ``python bench/roadmap.py``; figures go to ``bench/results/latest.json``
and ``latest.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from _results import record, summary

COMMAND = "python bench/roadmap.py"


def _private_prefect(home: Path) -> None:
    """An ephemeral Prefect with its own home; set before anything imports prefect."""
    os.environ["PREFECT_HOME"] = str(home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.pop("PREFECT_API_URL", None)


def _stop_prefect() -> None:
    """Send what the client still holds, then stop the local server while its home exists."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer

    APILogWorker.drain_all()
    EventsWorker.drain_all()
    SubprocessASGIServer().stop()


def _demo_runs(root: Path) -> list[dict[str, Any]]:
    """Run the demo with the injected failure; its per-run records, cold first, warm last."""
    from prefect import flow

    from orchestra_cli.demo import run_demo

    @flow(name="bench-warm-up")
    def warm_up() -> None:
        """Nothing: the first flow run starts Prefect's local server."""

    warm_up()
    report_path = root / "report.json"
    with contextlib.chdir(root):
        code = run_demo(root / "state", report_path, inject_failure=True, echo=print)
    if code != 0:
        raise SystemExit("bench/roadmap.py: the demo did not end as expected; no figure recorded")
    runs: list[dict[str, Any]] = json.loads(report_path.read_text())["demo_runs"]
    return runs


def _figures(cold: dict[str, Any], warm: dict[str, Any]) -> list[dict[str, Any]]:
    from orchestra_ops.domain.roadmap_metrics import ROADMAP_PREREQUISITES, critical_path_s

    phases: dict[str, float] = cold["phase_s"]
    unknown = sorted(set(phases) - set(ROADMAP_PREREQUISITES))
    if unknown:
        raise SystemExit(
            f"bench/roadmap.py: phases {unknown} are new; add their prerequisites to "
            "ROADMAP_PREREQUISITES in orchestra_ops/domain/roadmap_metrics.py"
        )
    bound = critical_path_s(phases)
    return [
        {
            "key": "B1",
            "name": "roadmap wall time / critical-path lower bound",
            "value": round(cold["wall_s"] / bound, 2) if bound else None,
            "unit": "ratio",
            "goal": "<= 1.15",
            "command": COMMAND,
            "detail": f"cold run {cold['wall_s']:.1f} s vs longest phase chain {bound:.1f} s",
        },
        {
            "key": "B2",
            "name": "warm re-run / cold run",
            "value": round(warm["wall_s"] / cold["wall_s"], 3),
            "unit": "ratio",
            "goal": "<= 0.10",
            "command": COMMAND,
            "detail": f"warm {warm['wall_s']:.2f} s vs cold {cold['wall_s']:.1f} s",
        },
        {
            "key": "B2-mutating",
            "name": "mutating API calls on the warm re-run",
            "value": warm["mutating_api_calls"],
            "unit": "calls",
            "goal": "0",
            "command": COMMAND,
            "detail": "POST, PUT, PATCH and DELETE logged by the Vercel and Lambda emulators",
        },
    ]


def main() -> None:
    """Run the demo once and record B1 and B2 from its cold and warm runs."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        root = Path(tmp)
        _private_prefect(root / "prefect")
        try:
            runs = _demo_runs(root)
        finally:
            _stop_prefect()
    figures = _figures(runs[0], runs[-1])
    record(figures)
    for figure in figures:
        print(summary(figure))


if __name__ == "__main__":
    main()
