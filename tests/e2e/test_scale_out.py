"""The scale-out profile end to end, set up as an operator would on other machines.

The test starts Debian's PostgreSQL server itself (a throw-away cluster on 127.0.0.1 and
a free port, as the ``postgres`` user when we are root), points ``prefect server start``
at it through ``PREFECT_API_DATABASE_CONNECTION_URL``, and starts ``orchestra-ops
sandbox``, which writes the workers' env file. The deployments are made the way ``make
deploy`` makes them (``python -m deployments.source`` from a clean checkout of a
repository, here a snapshot of this working tree), and that checkout is deleted
afterwards, as if it were on another machine. Two process workers of one concurrent run
each source the env file and start in empty directories of their own, neither holding
the code: every run must clone the deployed commit (prefect.yaml's ``git_clone`` pull
step) to find its flow. They are sent four security scans (the scan's cost is not what
this profile is about).
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
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.prefect_processes import (
    FINAL,
    POOL,
    PREFECT,
    REPO,
    SECURITY,
    api_call,
    cli,
    environment,
    free_port,
    snapshot_source,
    start,
    stop,
    submitted_by,
    wait_healthy,
)

PG_USER, PG_DATABASE = "orchestra", "prefect"
WORKERS = {"worker-east": "east", "worker-west": "west"}  # name -> its directory
RUNS = 4
#: The first run scans a directory of the example monorepo (one requirements file) by a
#: path relative to the repository: found in the run's own clone of the deployed commit.
RELATIVE_TARGET = "examples/orchestra-main/infrastructure/pulumi"


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
    """The running cluster and server, the repository the runs clone, and the workers."""

    api_url: str
    postgres: Postgres
    origin: Path
    commit: str
    deployer: Path
    target: Path
    reports: Path
    workers: dict[str, Path]
    worker_logs: dict[str, Path]

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the server's REST API (JSON in, JSON out)."""
        return api_call(self.api_url, method, path, body)

    def tails(self, lines: int = 25) -> str:
        """The last lines of each worker's log, for failure messages."""
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for name, log in self.worker_logs.items()
        )

    def wait_workers_online(self) -> None:
        """Both workers have registered with the pool (so both poll before runs exist)."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            online = {w["name"] for w in self.api("POST", f"/work_pools/{POOL}/workers/filter", {})}
            if online >= set(WORKERS):
                return
            time.sleep(1)
        pytest.fail(f"workers not registered after 90 s:\n{self.tails()}")


def _wait_for(path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {path} after 60 s:\n{log.read_text()}"
        time.sleep(0.2)


def _deploy(deployer: Path, env: dict[str, str]) -> str:
    """`make deploy`'s deploy line, run in the deploying checkout."""
    command = [sys.executable, "-m", "deployments.source", PREFECT, "--no-prompt", "deploy"]
    done = subprocess.run(
        [*command, "--all"], cwd=deployer, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"deploy failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    """PostgreSQL, server, sandbox (its CLI), pool, deployments from a since-deleted
    checkout, two workers in directories of their own; all stopped at the end."""
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
        endpoints_file, sandbox_log = tmp / "sandbox" / "endpoints.json", tmp / "sandbox.log"
        sandbox_args = [str(Path(PREFECT).parent / "orchestra-ops"), "sandbox"]
        sandbox_env = {**env, "ORCHESTRA_STATE_DIR": str(tmp / "sandbox-state")}
        sandbox = start(
            [*sandbox_args, "--endpoints-file", str(endpoints_file)], sandbox_env, sandbox_log
        )
        cleanup.callback(stop, sandbox)
        source = snapshot_source(tmp)  # the repository and commit the runs must clone
        origin, commit = Path(source["ORCHESTRA_GIT_REPOSITORY"]), source["ORCHESTRA_GIT_COMMIT"]
        deployer = tmp / "deployer"
        subprocess.run(["git", "clone", "-q", str(origin), str(deployer)], check=True)
        target = tmp / "tiny-repo"
        target.mkdir()
        (target / "requirements.txt").write_text("pyyaml==5.3\n")  # one known advisory
        worker_env_file = endpoints_file.with_suffix(".env")
        _wait_for(worker_env_file, sandbox, sandbox_log)
        wait_healthy(api_url, server, server_log)
        cli(["work-pool", "create", POOL, "--type", "process"], env)
        # PWD as a shell in the deploying checkout has it (a `{{ $PWD }}` step would store it).
        deploy_env = {**env, "ORCHESTRA_TARGET_REPO": str(target), "PWD": str(deployer)}
        said = _deploy(deployer, deploy_env)
        assert f"deploying commit {commit} of {origin}" in said, said
        shutil.rmtree(deployer)  # deployed from, and gone: as if on another machine
        # The worker's own environment: the server and a shared state dir; the sandbox's
        # settings come only from the env file it sources.
        worker_env = {
            **env,
            "ORCHESTRA_STATE_DIR": str(tmp / "state"),
            "PREFECT_WORKER_QUERY_SECONDS": "2",
        }
        workers, logs = {}, {}
        for name, directory in WORKERS.items():
            workers[name], logs[name] = tmp / directory, tmp / f"{name}.log"
            workers[name].mkdir()
            # One run at a time each, so the second worker is certain to get work.
            worker = f"{PREFECT} worker start --pool {POOL} --name {name} --limit 1"
            script = f". {shlex.quote(str(worker_env_file))} && exec {worker}"
            cleanup.callback(
                stop, start(["bash", "-c", script], worker_env, logs[name], workers[name])
            )
        yield ScaleOut(
            api_url, postgres, origin, commit, deployer, target, tmp / "reports", workers, logs
        )


def _wait_all_final(stack: ScaleOut, run_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 240
    while True:
        runs: list[dict[str, Any]] = stack.api(
            "POST", "/flow_runs/filter", {"flow_runs": {"id": {"any_": run_ids}}}
        )
        if len(runs) == len(run_ids) and all(r["state"]["type"] in FINAL for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [r["state"]["name"] for r in runs]
            pytest.fail(f"runs not finished after 240 s: {states}\n{stack.tails()}")
        time.sleep(1)


def test_every_deployment_stores_a_repository_and_commit_not_a_path(scale_out: ScaleOut) -> None:
    """The pull step the server hands every worker: clone this commit; no deploying path."""
    deployments = scale_out.api("POST", "/deployments/filter", {})
    assert len(deployments) == len(_deployment_names())
    for deployment in deployments:
        assert deployment["pull_steps"] == [
            {
                "prefect.deployments.steps.git_clone": {
                    "repository": str(scale_out.origin),
                    "commit_sha": scale_out.commit,
                }
            }
        ], deployment["name"]
        assert str(scale_out.deployer) not in json.dumps(deployment)


def test_runs_spread_over_both_workers_and_complete(scale_out: ScaleOut) -> None:
    """Four scans at once over two workers of one slot each: all Completed, each run once,
    both workers used, the sandbox's advisory feeds reached (no scanner error), a relative
    repository path found in the run's clone, and nothing written into the workers' own
    directories (each run cloned into a directory of its own)."""
    scale_out.wait_workers_online()
    deployment = scale_out.api("GET", f"/deployments/name/{SECURITY}")
    run_ids = []
    for i in range(RUNS):
        params = {
            "repo_path": RELATIVE_TARGET if i == 0 else str(scale_out.target),
            "fail_on_findings": False,  # the findings are reported, not fatal
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
    assert all(list(directory.iterdir()) == [] for directory in scale_out.workers.values())


def test_server_state_lives_in_postgres(scale_out: ScaleOut) -> None:
    """The deployments of prefect.yaml are rows of the PostgreSQL database."""
    rows = scale_out.postgres.query("select name from deployment")
    assert set(rows.splitlines()) == _deployment_names()


def _deployment_names() -> set[str]:
    return {d["name"] for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
