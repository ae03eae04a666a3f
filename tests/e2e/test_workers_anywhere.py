"""Two process workers started in two different directories, neither holding the code.

As an operator sets them up: ``orchestra-ops sandbox`` writes its worker env file; the
deployment is made the way ``make deploy`` makes it (``python -m deployments.source``
from a clean checkout of a repository, here a snapshot of this working tree), and that
checkout is deleted afterwards, as if it were on another machine. Each worker sources the
env file and starts in a directory of its own. Every run must clone the deployed commit
(prefect.yaml's ``git_clone`` pull step) to find its flow: with a path stored at deploy
time (the old ``{{ $PWD }}`` step) the runs would fail on the deleted checkout.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.prefect_processes import (
    FINAL,
    POOL,
    PREFECT,
    SECURITY,
    api_call,
    cli,
    environment,
    free_port,
    snapshot_repository,
    start,
    stop,
    submitted_by,
    wait_healthy,
)
from tests.prefect_database import server_home

WORKERS = {"worker-east": "east", "worker-west": "west"}  # name -> its directory
RUNS = 2  # one each: a worker of one slot cannot take the second while it scans

pytestmark = pytest.mark.slow


@dataclass
class TwoWorkers:
    """The server, the repository the runs clone, and where each worker runs."""

    api_url: str
    origin: Path
    commit: str
    deployer: Path
    workers: dict[str, Path]
    logs: dict[str, Path]
    target: Path
    reports: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the server's REST API (JSON in, JSON out; 503 asked again)."""
        return api_call(self.api_url, method, path, body)

    def tails(self, lines: int = 25) -> str:
        """The last lines of each worker's log, for failure messages."""
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for name, log in self.logs.items()
        )


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def _wait_for(path: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {path} after 60 s:\n{log.read_text()}"
        time.sleep(0.2)


def _deploy(deployer: Path, env: dict[str, str]) -> str:
    """`make deploy`'s deploy line, for the security scan deployment only."""
    command = [sys.executable, "-m", "deployments.source", PREFECT, "--no-prompt", "deploy"]
    done = subprocess.run(
        [*command, "--name", SECURITY.split("/")[1]],
        cwd=deployer,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"deploy failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkers]:
    """Server, sandbox (its CLI), deployment from a since-deleted checkout, two workers."""
    tmp = tmp_path_factory.mktemp("two-workers")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = environment(server_home(tmp / "prefect-home"), api_url)
    with contextlib.ExitStack() as cleanup:
        server_log = tmp / "server.log"
        server_env = {**env, "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
        server_args = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        cleanup.callback(stop, server := start(server_args, server_env, server_log))
        endpoints_file, sandbox_log = tmp / "sandbox" / "endpoints.json", tmp / "sandbox.log"
        sandbox_args = [str(Path(PREFECT).parent / "orchestra-ops"), "sandbox"]
        sandbox_env = {**env, "ORCHESTRA_STATE_DIR": str(tmp / "sandbox-state")}
        sandbox = start(
            [*sandbox_args, "--endpoints-file", str(endpoints_file)], sandbox_env, sandbox_log
        )
        cleanup.callback(stop, sandbox)
        origin, deployer = snapshot_repository(tmp), tmp / "deployer"
        _git("clone", "-q", str(origin), str(deployer))
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
        commit = _git("-C", str(origin), "rev-parse", "HEAD").strip()
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
            worker = f"{PREFECT} worker start --pool {POOL} --name {name} --limit 1"
            script = f". {shlex.quote(str(worker_env_file))} && exec {worker}"
            cleanup.callback(
                stop, start(["bash", "-c", script], worker_env, logs[name], workers[name])
            )
        yield TwoWorkers(api_url, origin, commit, deployer, workers, logs, target, tmp / "reports")


def _wait_online(stack: TwoWorkers) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        online = {w["name"] for w in stack.api("POST", f"/work_pools/{POOL}/workers/filter", {})}
        if online >= set(WORKERS):
            return
        time.sleep(1)
    pytest.fail(f"workers not registered after 90 s:\n{stack.tails()}")


def _wait_all_final(stack: TwoWorkers, run_ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 240
    while True:
        body = {"flow_runs": {"id": {"any_": run_ids}}}
        runs: list[dict[str, Any]] = stack.api("POST", "/flow_runs/filter", body)
        if len(runs) == len(run_ids) and all(r["state"]["type"] in FINAL for r in runs):
            return runs
        if time.monotonic() > deadline:
            states = [r["state"]["name"] for r in runs]
            pytest.fail(f"runs not finished after 240 s: {states}\n{stack.tails()}")
        time.sleep(1)


def test_the_deployment_stores_a_repository_and_commit_not_a_path(two_workers: TwoWorkers) -> None:
    """The pull step the server hands every worker: clone this commit; no deploying path."""
    deployment = two_workers.api("GET", f"/deployments/name/{SECURITY}")
    assert deployment["pull_steps"] == [
        {
            "prefect.deployments.steps.git_clone": {
                "repository": str(two_workers.origin),
                "commit_sha": two_workers.commit,
            }
        }
    ]
    assert str(two_workers.deployer) not in json.dumps(deployment)


def test_workers_in_two_directories_both_run_the_deployed_commit(two_workers: TwoWorkers) -> None:
    """Scans at once over two workers of one slot each: all Completed, both workers used,
    the sandbox's advisory feeds reached (no scanner error), a relative repository path
    found in the run's clone, and nothing written into the workers' own directories (each
    run cloned into a directory of its own)."""
    _wait_online(two_workers)
    deployment = two_workers.api("GET", f"/deployments/name/{SECURITY}")
    run_ids = []
    for i in range(RUNS):
        # The first scans a directory of the example monorepo (one requirements file) by a
        # relative path: found in the run's clone of the deployed commit.
        repo = (
            "examples/orchestra-main/infrastructure/pulumi" if i == 0 else str(two_workers.target)
        )
        params = {
            "repo_path": repo,
            "fail_on_findings": False,
            "out_dir": str(two_workers.reports / f"run-{i}"),
        }
        body = {"parameters": {"params": params}}
        run_ids.append(
            two_workers.api("POST", f"/deployments/{deployment['id']}/create_flow_run", body)["id"]
        )
    for run in _wait_all_final(two_workers, run_ids):
        state = run["state"]
        assert state["type"] == "COMPLETED", (
            f"run {run['name']} ended {state['name']}: {state.get('message')}\n"
            f"{two_workers.tails()}"
        )
    submitters = {run_id: submitted_by(two_workers.api_url, run_id) for run_id in run_ids}
    assert set().union(*submitters.values()) == set(WORKERS), submitters
    for i in range(RUNS):
        report = json.loads((two_workers.reports / f"run-{i}" / "report.json").read_text())
        assert report["scan_errors"] == [] and report["summary"]["failing"] > 0, report
    assert all(list(directory.iterdir()) == [] for directory in two_workers.workers.values())
