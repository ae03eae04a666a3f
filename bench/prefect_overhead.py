"""B6: Prefect's overhead per task over a bare function call, for the record.

The same trivial function is called N times bare, then N times as a Prefect task inside
one flow run, on an ephemeral Prefect server with a private home (started by a warm-up
flow first, so its start-up is not counted). Only the loops are timed.
Run with ``python bench/prefect_overhead.py``; figures go to ``bench/results/latest.json``
and ``latest.md``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _results import record, summary

COMMAND = "python bench/prefect_overhead.py"
CALLS = 200


def _add(a: int, b: int) -> int:
    return a + b


def _bare_s(calls: int) -> float:
    started = time.perf_counter()
    for n in range(calls):
        _add(n, 1)
    return time.perf_counter() - started


def _as_tasks_s(calls: int) -> float:
    """Time ``calls`` task runs of ``_add`` inside one flow run (the flow's own start excluded)."""
    from prefect import flow, task

    add = task(_add, name="add")

    @flow(name="bench-prefect-overhead")
    def loop(count: int) -> float:
        """Run ``count`` tasks one after another; return the seconds they took."""
        started = time.perf_counter()
        for n in range(count):
            add(n, 1)
        return time.perf_counter() - started

    loop(1)  # the first flow run starts Prefect's local server
    return loop(calls)


def _stop_prefect() -> None:
    """Send what the client still holds, then stop the local server while its home exists."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer

    APILogWorker.drain_all()
    EventsWorker.drain_all()
    SubprocessASGIServer().stop()


def main() -> None:
    """Bare calls vs task runs, side by side in one process."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        os.environ["PREFECT_HOME"] = str(Path(tmp) / "prefect")
        os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        os.environ["DO_NOT_TRACK"] = "1"
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.pop("PREFECT_API_URL", None)
        bare = _bare_s(CALLS)
        try:
            tasks = _as_tasks_s(CALLS)
        finally:
            _stop_prefect()
    per_task_ms = (tasks - bare) / CALLS * 1000
    figures = [
        {
            "key": "B6",
            "name": "Prefect overhead per task over a bare function call",
            "value": round(per_task_ms, 2),
            "unit": "ms per task",
            "goal": "for the record",
            "command": COMMAND,
            "detail": f"{CALLS} calls: {tasks:.2f} s as tasks in one flow run vs "
            f"{bare * 1e6:.0f} us bare",
        },
        {
            "key": "B6-ratio",
            "name": "trivial function as a Prefect task / called bare",
            "value": round(tasks / bare),
            "unit": "ratio",
            "goal": "for the record",
            "command": COMMAND,
            "detail": f"same {CALLS} calls as B6",
        },
    ]
    record(figures)
    for figure in figures:
        print(summary(figure))


if __name__ == "__main__":
    main()
