"""Chaos on the frontend migration: every cloud call meets every transient fault once.

One project, one release after another. Each case injects one fault into one endpoint
the migration (or its rollback) calls: a 503, a 429 with Retry-After, a hang longer than
the client's timeout, or a request that took effect but answered 500. Then the
invariant is checked against the emulator, the edge and the repository, never against
the run's own words: **the final state matches the report**.

- ``migrated``: production serves the new release, the env is the intended env, the
  config files are written, every API route answers through the rewrite;
- ``rolled-back`` / ``failed-before-promotion``: production, env and config files are
  exactly as before the run.

Rollback endpoints are faulted on a release that breaks in production, so the
compensation itself meets the fault. Then SIGKILL at each step, settled by `recover`.
``make test`` meets each endpoint once (fault kinds in turn) and two kill points;
``make chaos`` (ORCHESTRA_SOAK=1) runs every combination. A summary (cases, outcomes,
invariant held) is written to the pytest temp dir.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.frontend_migration import frontend_migration
from flows.params import HealthParams
from orchestra_ops.errors import OpsError
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from tests.chaos import SOAK
from tests.flows.frontend_support import change_page, copy_example, params, project_env, served
from tests.killing import flow_in_worker, kill_when

PROJECT = "chaos-admin"
TIMEOUT_S = 1.0  # VERCEL_TIMEOUT_S in this module: a hang of 2 s is a timeout
FAULTS: dict[str, dict[str, object]] = {
    "503": {"status": 503},
    "429": {"status": 429, "headers": {"Retry-After": "1"}},
    "hang": {"mode": "hang", "delay_s": 2 * TIMEOUT_S},
    "500-after-effect": {"status": 500, "mode": "after_effect"},
}
# What the migration calls on a project that exists, in the order it calls them.
FORWARD: dict[str, tuple[str, str]] = {
    "read project": ("GET", r"/v9/projects/[^/]+"),
    "read env": ("GET", r"/v10/projects/[^/]+/env"),
    "write env": ("POST", r"/v10/projects/[^/]+/env"),
    "list deployments": ("GET", r"/v6/deployments"),
    "upload file": ("POST", r"/v2/files"),
    "create deployment": ("POST", r"/v13/deployments"),
    "poll deployment": ("GET", r"/v13/deployments/[^/]+"),
    "promote": ("POST", r"/v10/projects/[^/]+/promote/[^/]+"),
}
# What only the rollback of a release broken in production calls.
ROLLBACK: dict[str, tuple[str, str]] = {
    "instant rollback": ("POST", r"/v1/projects/[^/]+/rollback/[^/]+"),
    "restore env": ("POST", r"/v10/projects/[^/]+/env"),
}

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@dataclass
class Case:
    """One faulted run and what was found afterwards."""

    endpoint: str
    fault: str
    broken_release: bool
    outcome: str = ""
    fault_hit: bool = False
    invariant_held: bool = False


RESULTS: list[Case] = []


@dataclass
class World:
    """The sandbox, the backend, the checkout, and the last verified state."""

    sandbox: Sandbox
    endpoints: Endpoints
    backend: ServedApp
    repo: Path
    release: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("frontend-chaos")
    patch = pytest.MonkeyPatch()

    async def api(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    sandbox = Sandbox(tmp / "sandbox")
    with (
        sandbox as endpoints,
        serve_in_thread(Starlette(routes=[Route("/{path:path}", api)])) as backend,
    ):
        for name, value in endpoints.as_environment().items():
            patch.setenv(name, value)
        patch.setenv("ORCHESTRA_STATE_DIR", str(tmp / "state"))
        patch.setenv("VERCEL_TIMEOUT_S", str(TIMEOUT_S))
        world = World(sandbox, endpoints, backend, copy_example(tmp / "orchestra-main"))
        _release(world, broken=False, fault=None)  # release 1 serves: the starting point
        yield world
    patch.undo()


def _snapshot(world: World) -> tuple[str, dict[str, str], str]:
    page = served(world.endpoints, PROJECT).text
    config = (world.repo / "admin-interface" / "vercel.json").read_text()
    return page, project_env(world.sandbox, PROJECT), config


def _release(
    world: World, *, broken: bool, fault: tuple[str, str, dict[str, object]] | None
) -> str:
    """Deploy the next release (a new page and a new title), maybe broken, maybe faulted."""
    world.release += 1
    marker = f"chaos release {world.release}"
    change_page(world.repo, marker)
    title = f"Admin {world.release}"
    overrides = {"VITE_API_URL": world.backend.url, "VITE_APP_TITLE": title}
    health = HealthParams(consecutive=2, interval_s=0.05, budget_s=5)
    if broken:
        world.sandbox.vercel.break_next_promotions(1)
    injected: list[int] = []
    if fault is not None:
        method, path, options = fault

        def inject() -> None:
            injected.append(world.sandbox.vercel.plan.inject(path, method=method, **options))

        if broken:  # the rollback must meet it, not the forward path's calls
            _after_promotion(world.sandbox, inject)
        else:
            inject()
    try:
        report = frontend_migration(
            params(
                world.repo,
                world.backend,
                PROJECT,
                preflight=False,
                env_overrides=overrides,
                health=health,
            )
        )
        outcome = report.outcome
    except OpsError as error:
        outcome = f"raised {type(error).__name__}"
    finally:
        active = {f.id for f in world.sandbox.vercel.plan.active()}
        met = bool(injected) and injected[0] not in active
        world.sandbox.vercel.plan.clear()
    return outcome, met


def _after_promotion(sandbox: Sandbox, then: Callable[[], None]) -> None:
    """Call ``then`` as soon as the emulator has seen a promotion (on a thread)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any("/promote/" in e.path for e in sandbox.vercel.log.mutating()):
                then()
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


ALL_CASES = [(e, f, False) for e in FORWARD for f in FAULTS] + [
    (e, f, True) for e in ROLLBACK for f in FAULTS
]
# `make test` meets each endpoint once, the fault kinds taking turns; `make chaos`
# (ORCHESTRA_SOAK=1) runs every endpoint x every fault.
ENDPOINTS = [(e, False) for e in FORWARD] + [(e, True) for e in ROLLBACK]
TURNS = [(e, list(FAULTS)[i % len(FAULTS)], broken) for i, (e, broken) in enumerate(ENDPOINTS)]
CASES = ALL_CASES if SOAK else TURNS


@pytest.mark.parametrize(("endpoint", "fault", "broken"), CASES)
def test_the_final_state_matches_the_report(
    world: World, endpoint: str, fault: str, broken: bool
) -> None:
    """One fault, one release; then what the run said is what is true."""
    method, path = (ROLLBACK if broken else FORWARD)[endpoint]
    before = _snapshot(world)
    world.sandbox.vercel.log.clear()
    case = Case(endpoint, fault, broken)
    RESULTS.append(case)
    fault_spec = (method, path, dict(FAULTS[fault]))
    case.outcome, case.fault_hit = _release(world, broken=broken, fault=fault_spec)
    page, env, config = _snapshot(world)
    if case.outcome == "migrated":
        assert f"chaos release {world.release}" in page
        assert env["VITE_APP_TITLE"] == f"Admin {world.release}"
        assert '"/api/:path*"' in config
        assert served(world.endpoints, PROJECT, "/api/health").json() == {"status": "ok"}
    else:
        assert (page, env, config) == before, f"{case.outcome} but something changed"
    case.invariant_held = True
    assert case.fault_hit, f"the {fault} on {endpoint} was never met"


# --- SIGKILL at each step, then `orchestra-ops recover` ---------------------------------

KILL_POINTS: dict[str, tuple[str, str, bool]] = {
    # point: (method, path seen just before the kill, release broken in production)
    "after the env is written": ("POST", r"/v10/projects/[^/]+/env", False),
    "after the deployment is created": ("POST", r"/v13/deployments", False),
    "while the build is polled": ("GET", r"/v13/deployments/[^/]+", False),
    "during a failing production gate": ("POST", r"/v10/projects/[^/]+/promote/[^/]+", True),
    "during a passing production gate": ("POST", r"/v10/projects/[^/]+/promote/[^/]+", False),
}


KILLS = (
    list(KILL_POINTS) if SOAK else ["while the build is polled", "during a failing production gate"]
)


@pytest.mark.parametrize("point", KILLS)
def test_a_killed_run_is_settled_whole_by_recover(world: World, point: str) -> None:
    """SIGKILL right after the step; `recover` leaves all of the release, or none of it."""
    from orchestra_ops.recover import recover
    from orchestra_ops.settings import load_settings
    from orchestra_ops.wiring import build

    method, path, broken = KILL_POINTS[point]
    before = _snapshot(world)
    world.sandbox.vercel.log.clear()
    world.release += 1
    change_page(world.repo, f"chaos release {world.release}")
    overrides = {"VITE_API_URL": world.backend.url, "VITE_APP_TITLE": f"Admin {world.release}"}
    slow = HealthParams(consecutive=3, interval_s=0.5, budget_s=60, fail_fast_after=None)
    run = params(
        world.repo, world.backend, PROJECT, preflight=False, env_overrides=overrides, health=slow
    )
    if broken:
        world.sandbox.vercel.break_next_promotions(1)
    world.sandbox.vercel.state.build_delay_s = 2.0  # so the poll is seen before READY
    worker = flow_in_worker("flows.frontend_migration", "frontend_migration", run)
    try:
        kill_when(
            worker,
            lambda: any(
                e.method == method and re.fullmatch(path, e.path)
                for e in world.sandbox.vercel.log.entries()
            ),
            point,
        )
    finally:
        world.sandbox.vercel.state.build_delay_s = 0.0
    RESULTS.append(case := Case(f"SIGKILL {point}", "kill", broken))

    with build(load_settings(None)) as clients:
        report = recover(clients, Path("no-infrastructure"), (), runs=False)

    assert report.clean, report.as_dict()
    page, env_now, config = _snapshot(world)
    case.outcome = "adopted" if f"chaos release {world.release}" in page else "compensated"
    if case.outcome == "adopted":
        assert not broken
        assert env_now["VITE_APP_TITLE"] == f"Admin {world.release}"
        assert '"/api/:path*"' in config
    else:
        assert (page, env_now, config) == before
    case.fault_hit = case.invariant_held = True


def test_summary(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every case held; the tally goes to a JSON file for the closing note."""
    summary = {
        "cases": len(RESULTS),
        "held": sum(c.invariant_held for c in RESULTS),
        "outcomes": sorted({c.outcome for c in RESULTS}),
        "by_case": [asdict(c) for c in RESULTS],
    }
    path = tmp_path_factory.getbasetemp() / "frontend-chaos.json"
    path.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "by_case"}))
    expected = len(CASES) + len(KILLS)
    assert summary["cases"] == expected and summary["held"] == expected
