"""Real Prefect processes for the end-to-end tests: server, CLI and workers as children.

Shared by ``test_deployments.py`` (SQLite, one worker) and ``test_scale_out.py``
(PostgreSQL, two workers in directories of their own). Every child runs in its own
process group, so stopping it also stops the flow-run processes it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestra_ops.sandbox.runner import Endpoints
from tests import loopback
from tests.prefect_server_settings import TASK_RUN_RECORDER_BATCHES

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
POOL = "orchestra-ops-process"
SECURITY = "security-scan/weekly-security-scan"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
SUBMITTED = re.compile(r"Worker '([^']+)' submitting flow run '([0-9a-f-]{36})'")


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    """A child in its own process group, so stopping it also stops what it started."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, SIGKILL it after a bounded wait."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
            return
        except subprocess.TimeoutExpired:
            continue


def cli(args: list[str], env: dict[str, str], timeout_s: float = 240) -> str:
    """Run ``prefect ARGS``; fail the test with its output unless it succeeds."""
    done = subprocess.run(
        [PREFECT, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_healthy(api_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the server's /health; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"prefect server exited ({server.returncode}):\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if loopback.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy after 150 s:\n{log.read_text()[-3000:]}")


def environment(home: Path, api_url: str) -> dict[str, str]:
    """The children's environment: ours without the test session's PREFECT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        # The server also hands this URL to the UI; without it the UI calls port 4200.
        PREFECT_API_URL=api_url,
        COLUMNS="200",  # the CLI's rich output unwrapped, so the run id parses
        **TASK_RUN_RECORDER_BATCHES,
    )
    return env


def copy_target(tmp: Path) -> Path:
    """A private copy of the example monorepo the flows work on."""
    target = tmp / "orchestra-main"
    shutil.copytree(REPO / "examples" / "orchestra-main", target)
    return target


def worker_environment(
    env: dict[str, str], endpoints: Endpoints, state_dir: Path, target: Path
) -> dict[str, str]:
    """What a worker (and the deploy step) needs: the sandbox, the state dir, the engine.

    The stacks run on the Pulumi CLI (PATH or the `make pulumi` cache, found through HOME),
    on a file backend in ``state_dir``, as a worker of the product runs them.
    """
    return {
        **env,
        **endpoints.as_environment(),
        "ORCHESTRA_STACK_ENGINE": "pulumi",
        "ORCHESTRA_STATE_DIR": str(state_dir),
        "ORCHESTRA_TARGET_REPO": str(target),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }


def snapshot_repository(into: Path) -> Path:
    """A git repository whose one commit is this working tree (tracked and new files, not
    the ignored ones): what the deployments' runs clone, uncommitted edits included."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    )
    repository = into / "orchestra-ops"
    for name in dict.fromkeys(listed.stdout.decode().split("\0")):
        source = REPO / name
        if name and source.is_file():  # a file deleted but not yet committed is left out
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repository / name)
    identity = ["-c", "user.name=e2e", "-c", "user.email=e2e@localhost"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "e2e"]):
        subprocess.run(["git", "-C", str(repository), *identity, *command], check=True)
    return repository


def snapshot_source(into: Path) -> dict[str, str]:
    """The deploy-time variables of prefect.yaml's pull step, for a snapshot of this tree."""
    repository = snapshot_repository(into)
    head = subprocess.run(
        ["git", "-C", str(repository), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return {
        "ORCHESTRA_GIT_REPOSITORY": str(repository),
        "ORCHESTRA_GIT_COMMIT": head.stdout.strip(),
    }


def api_call(api_url: str, method: str, path: str, body: Any = None) -> Any:
    """One call to the server's REST API (JSON in, JSON out); a busy SQLite server's 503
    is asked again."""
    for attempt in range(4):
        answer = loopback.request(method, f"{api_url}{path}", json=body, timeout=30)
        if answer.status_code != 503:
            break
        time.sleep(1 + attempt)
    answer.raise_for_status()
    return answer.json()


def submitted_by(api_url: str, run_id: str) -> set[str]:
    """The workers that logged submitting this run (the worker ships these logs to the API)."""
    body = {"logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC", "limit": 50}
    deadline = time.monotonic() + 30
    while True:
        logs = api_call(api_url, "POST", "/logs/filter", body)
        names = {m[1] for log in logs if (m := SUBMITTED.search(log["message"]))}
        if names or time.monotonic() > deadline:
            return names
        time.sleep(1)


def headless_chromium(url: str, profile: Path, *args: str) -> str:
    """Debian's Chromium on ``url``, once (``--dump-dom`` and ``--screenshot=...`` together
    take one run): its stdout."""
    command = [
        "chromium",
        "--headless",
        "--disable-gpu",
        "--no-sandbox",  # CI runs as root
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",  # virtual time waits for the SPA's API calls
        "--window-size=1400,1000",
        *args,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
