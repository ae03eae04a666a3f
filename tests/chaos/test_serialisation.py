"""Five runs against one target at once never interleave: 3 trials each, frontend and stack.

The runs are started together from five threads (direct flow calls, as a script or the
roadmap would). What reached the emulators proves the order: for one Vercel project,
each run's deployment is promoted before the next run creates its own (create, promote,
create, promote...; a create is sent again after the missing files are uploaded); for
one environment's stack, each rollout's new colour is launched and its old colour
terminated before the next launch.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.frontend_migration import frontend_migration
from flows.lambda_provisioning import lambda_provisioning
from flows.params import HealthParams, ProvisioningParams
from orchestra_ops.sandbox.runner import Sandbox
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from tests.chaos import SOAK
from tests.doubles.program_engine import copy_projects
from tests.flows.frontend_support import change_page, copy_example, params

RUNS = 5
# `make chaos` (ORCHESTRA_SOAK=1): 3 trials; `make test`: 1.
TRIALS = 3 if SOAK else 1
DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    runner = Sandbox(tmp_path / "sandbox")
    with runner as endpoints:
        for name, value in endpoints.as_environment().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)
        yield runner


@pytest.fixture
def backend() -> Iterator[ServedApp]:
    async def api(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    with serve_in_thread(Starlette(routes=[Route("/{path:path}", api)])) as served:
        yield served


def _together(calls: list[Callable[[], Any]]) -> list[BaseException | None]:
    """Start every call at the same moment, each on its own thread; what each raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            calls[index]()
        except BaseException as error:  # collected and asserted by the test
            errors[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return errors


@pytest.mark.parametrize("trial", range(TRIALS))
def test_five_migrations_of_one_project_never_interleave(
    sandbox: Sandbox, backend: ServedApp, tmp_path: Path, trial: int
) -> None:
    """Five checkouts with five releases, one project: each release is whole in turn."""
    repos = []
    for n in range(RUNS):
        repo = copy_example(tmp_path / f"checkout-{n}")
        change_page(repo, f"release {trial}-{n}")
        repos.append(repo)
    health = HealthParams(consecutive=2, interval_s=0.05, budget_s=10)
    calls = [
        lambda repo=repo: frontend_migration(  # type: ignore[misc]
            params(repo, backend, "serialised", preflight=False, health=health)
        )
        for repo in repos
    ]
    assert _together(calls) == [None] * RUNS
    order = "".join(
        "C" if e.path == "/v13/deployments" else "P"
        for e in sandbox.vercel.log.mutating()
        if e.path == "/v13/deployments" or "/promote/" in e.path
    )
    # A run creates its deployment once or twice (again after uploading missing files).
    assert re.fullmatch(f"(CC?P){{{RUNS}}}", order), f"interleaved: {order}"


@pytest.mark.parametrize("trial", range(TRIALS))
def test_five_rollouts_of_one_stack_never_interleave(
    sandbox: Sandbox, tmp_path: Path, trial: int
) -> None:
    """Five provisioning requests for dev at once: five whole blue-green rollouts in turn."""
    infra = copy_projects(tmp_path / "pulumi")
    request = ProvisioningParams.model_validate(
        {
            "environment": "dev",
            "infrastructure_dir": str(infra),
            "health": {"consecutive": 1, "interval_s": 0.05, "budget_s": 10},
        }
    )
    assert _together([lambda: lambda_provisioning(request)] * RUNS) == [None] * RUNS
    order = "".join(
        "L" if e.path.endswith("/launch") else "T"
        for e in sandbox.lambda_cloud.log.mutating()
        if re.search(r"/instance-operations/(launch|terminate)$", e.path)
    )
    assert order == "L" + "LT" * (RUNS - 1), f"interleaved: {order}"
