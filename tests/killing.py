"""Killing a flow run the hard way: a flow in a worker process, SIGKILLed at a moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[1]


def flow_in_worker(module: str, flow: str, params: BaseModel) -> subprocess.Popen[bytes]:
    """``module.flow(params)`` in a new Python process talking to the test's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    model = type(params).__name__
    script = (
        f"from {module} import {model}, {flow}\n"
        f"{flow}({model}.model_validate_json({params.model_dump_json()!r}))\n"
    )
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", script], env=env)


def kill_when(
    worker: subprocess.Popen[bytes],
    moment: Callable[[], bool],
    what: str,
    *,
    timeout_s: float = 120,
    after_s: float = 0.0,
    group: bool = False,
) -> None:
    """SIGKILL ``worker`` once ``moment()`` holds (and ``after_s`` more); fail if it never does.

    ``group``: the worker leads its own process group (``start_new_session``), and the
    whole group is killed, children included, even when the worker itself has ended.
    """
    try:
        deadline = time.monotonic() + timeout_s
        while not moment():
            assert worker.poll() is None, f"the worker ended before {what}"
            assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s:.0f} s"
            time.sleep(0.005)
        time.sleep(after_s)
    finally:
        if group:
            os.killpg(worker.pid, signal.SIGKILL)
        elif worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
