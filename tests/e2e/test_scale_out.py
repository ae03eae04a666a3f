"""The scale-out profile end to end: Prefect server on PostgreSQL, two workers on one pool.

The test starts Debian's PostgreSQL server itself (a throw-away cluster on 127.0.0.1 and
a free port, as the ``postgres`` user when we are root), points ``prefect server start``
at it through ``PREFECT_API_DATABASE_CONNECTION_URL``, deploys ``prefect.yaml``, starts
two process workers of one concurrent run each, and sends them four security scans of a
one-line repository (the scan's cost is not what this profile is about).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from orchestra_ops.sandbox.runner import Sandbox
from tests.e2e.prefect_processes import (
    FINAL,
    POOL,
    PREFECT,
    REPO,
    SECURITY,
    cli,
    environment,
    free_port,
    snapshot_source,
    start,
    stop,
    submitted_by,
    wait_healthy,
    worker_environment,
)

PG_USER, PG_DATABASE = "orchestra", "prefect"
WORKERS = ("scale-out-a", "scale-out-b")
RUNS = 4


def _pg_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries (initdb, pg_ctl), if installed."""
    found = [b for b in Path("/usr/lib/postgresql").glob("*/bin") if (b / "initdb").exists()]
    found = [b for b in found if (b / "pg_ctl").exists() and b.parent.name.isdigit()]
    return max(found, key=lambda b: int(b.parent.name), default=None)


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        _pg_bin() is None,
        reason="no PostgreSQL server under /usr/lib/postgresql/*/bin "
        "(apt-get install postgresql; .ci/run does it)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("asyncpg") is None,
        reason="asyncpg, Prefect's PostgreSQL driver, is not installed in this environment",
    ),
]


def _server_user() -> Callable[[list[str]], list[str]]:
    """How to run a server command: as ourselves, or as ``postgres`` when we are root.

    PostgreSQL refuses to run as root, and CI runs as root.
    """
    if os.geteuid() != 0:
        return lambda command: command
    with contextlib.suppress(KeyError):
        pwd.getpwnam("postgres")
        runuser, su = shutil.which("runuser"), shutil.which("su")
        if runuser and subprocess.run([runuser, "-u", "postgres", "--", "true"]).returncode == 0:
            return lambda command: [runuser, "-u", "postgres", "--", *command]
        if su and subprocess.run([su, "postgres", "-s", "/bin/sh", "-c", "true"]).returncode == 0:
            return lambda command: [su, "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
    pytest.skip("running as root, and neither runuser nor su can switch to the postgres user")


@dataclass(frozen=True)
class Postgres:
    """A running throw-away cluster."""

    bin_dir: Path
    port: int

    @property
    def url(self) -> str:
        """Prefect's connection URL (trust authentication on loopback: no password)."""
        return f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def query(self, sql: str) -> str:
        """One SQL statement through psql; its unaligned output."""
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-d", PG_DATABASE]
        done = subprocess.run(
            [str(self.bin_dir / "psql"), *args, "-tAc", sql],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def _run(command: list[str], what: str, timeout_s: float = 90) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout}\n{done.stderr}"


@contextlib.contextmanager
def _postgres() -> Iterator[Postgres]:
    """initdb, start, create the database; stop and remove the cluster at the end."""
    bin_dir, as_server = _pg_bin(), _server_user()
    assert bin_dir is not None
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="orchestra-ops-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", free_port()
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust"]
        _run(as_server([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"]), "initdb")
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c fsync=off"
        options += f" -c unix_socket_directories={root}"
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
        started = [*pg_ctl, "-l", str(root / "postgres.log"), "-o", options, "-w", "-t", "60"]
        _run(as_server([*started, "start"]), "pg_ctl start")
        try:
            createdb = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
            _run([*createdb, "-U", PG_USER, PG_DATABASE], "createdb")
            yield Postgres(bin_dir, port)
        finally:
            fast = as_server([*pg_ctl, "-m", "fast", "-w", "-t", "30", "stop"])
            if subprocess.run(fast, capture_output=True).returncode != 0:
                subprocess.run(as_server([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class ScaleOut:
    """The running cluster, server and workers."""

    api_url: str
    postgres: Postgres
    target: Path
    reports: Path
    worker_logs: dict[str, Path]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the server's REST API (JSON in, JSON out)."""
        with httpx.Client(base_url=self.api_url, timeout=30) as client:
            answer = client.request(method, path, json=body)
        answer.raise_for_status()
        return answer.json()

    def tails(self, lines: int = 25) -> str:
        """The last lines of each worker's log, for failure messages."""
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for name, log in self.worker_logs.items()
        )

    def wait_workers_online(self) -> None:
        """Both workers have registered with the pool (so both poll before runs exist)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            online = {w["name"] for w in self.api("POST", f"/work_pools/{POOL}/workers/filter", {})}
            if online >= set(WORKERS):
                return
            time.sleep(1)
        pytest.fail(f"workers not registered after 60 s:\n{self.tails()}")


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    """PostgreSQL, server, sandbox, pool, deployments, two workers; all stopped at the end."""
    tmp = tmp_path_factory.mktemp("scale-out")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = environment(tmp / "prefect-home", api_url)
    with contextlib.ExitStack() as cleanup:
        postgres = cleanup.enter_context(_postgres())
        server_env = {
            **env,
            "PREFECT_API_DATABASE_CONNECTION_URL": postgres.url,
            # No scheduled runs (hourly TTL clean-up...) competing for the two worker slots.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        }
        server_log = tmp / "server.log"
        server_args = ["server", "start", "--host", "127.0.0.1", "--port", str(port)]
        server = start([PREFECT, *server_args], server_env, server_log)
        cleanup.callback(stop, server)  # runs before the cluster stops
        endpoints = cleanup.enter_context(Sandbox(tmp / "sandbox"))
        target = tmp / "tiny-repo"
        target.mkdir()
        (target / "requirements.txt").write_text("pyyaml==5.3\n")  # one known advisory
        worker_env = worker_environment(env, endpoints, tmp / "state", target)
        wait_healthy(api_url, server, server_log)
        cli(["work-pool", "create", POOL, "--type", "process"], env)
        cli(["--no-prompt", "deploy", "--all"], {**worker_env, **snapshot_source(tmp)})
        logs = {name: tmp / f"{name}.log" for name in WORKERS}
        for name, log in logs.items():
            # One run at a time each, so the second worker is certain to get work.
            args = ["worker", "start", "--pool", POOL, "--name", name, "--limit", "1"]
            cleanup.callback(stop, start([PREFECT, *args], worker_env, log))
        yield ScaleOut(api_url, postgres, target, tmp / "reports", logs)


def _wait_all_final(stack: ScaleOut, run_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 150
    while True:
        runs: list[dict[str, Any]] = stack.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"id": {"any_": run_ids}}}
        )
        if len(runs) == len(run_ids) and all(r["state"]["type"] in FINAL for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [r["state"]["name"] for r in runs]
            pytest.fail(f"runs not finished after 150 s: {states}\n{stack.tails()}")
        time.sleep(1)


def test_runs_spread_over_both_workers_and_complete(scale_out: ScaleOut) -> None:
    """Four scans at once: all Completed, each submitted by one worker, both workers used."""
    scale_out.wait_workers_online()
    deployment = scale_out.api("GET", f"/deployments/name/{SECURITY}")
    run_ids = []
    for i in range(RUNS):
        params = {
            "repo_path": str(scale_out.target),
            "fail_on_findings": False,  # the example's findings are reported, not fatal
            "out_dir": str(scale_out.reports / f"run-{i}"),  # concurrent runs, separate reports
        }
        body = {"parameters": {"params": params}}
        run = scale_out.api("POST", f"/deployments/{deployment['id']}/create_flow_run", body)
        run_ids.append(run["id"])
    for run in _wait_all_final(scale_out, run_ids):
        state = run["state"]
        assert state["type"] == "COMPLETED", (
            f"run {run['name']} ended {state['name']}: {state.get('message')}\n{scale_out.tails()}"
        )
    # Two workers may both try to claim a run: the server lets one through, so a run can
    # be logged by both, but it must have run once.
    submitters = {run_id: submitted_by(scale_out.api_url, run_id) for run_id in run_ids}
    assert all(names for names in submitters.values()), submitters
    assert set().union(*submitters.values()) == set(WORKERS), submitters
    for run_id in run_ids:
        states = scale_out.api("GET", f"/flow_run_states/?flow_run_id={run_id}")
        assert [st["type"] for st in states].count("RUNNING") == 1, states
    for i in range(RUNS):
        report = json.loads((scale_out.reports / f"run-{i}" / "report.json").read_text())
        assert report["scan_errors"] == [] and report["summary"]["failing"] > 0, report


def test_server_state_lives_in_postgres(scale_out: ScaleOut) -> None:
    """The deployments of prefect.yaml are rows of the PostgreSQL database."""
    names = {d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    rows = scale_out.postgres.query("select name from deployment")
    assert set(rows.splitlines()) == names
