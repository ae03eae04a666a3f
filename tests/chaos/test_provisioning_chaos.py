"""Chaos on Lambda provisioning: one fault at a mutating API step, then a clean re-run.

Each scenario injects one fault (the step, 429 with Retry-After / 500 / 503 / "took
effect but answered 500" / a hang, how many times) and says whether the new colour comes
up unhealthy. ``make chaos`` (ORCHESTRA_SOAK=1) runs every step with every fault, the new
colour healthy and unhealthy (50 scenarios). ``make test`` runs 12 of them: every fault at
the launch (where a rollout adopts or doubles), four at the terminate (with an unhealthy
new colour, the rollback's own terminate is the one that meets the fault), and one at
each shared resource. Launch and terminate faults hit a blue-green rollout next to a
serving blue; faults on the shared resources (SSH key, filesystem, firewall ruleset) hit
the first provisioning of the environment, the only run that creates them. Whatever the
faulted run ends in, one run without faults follows, and then the Lambda API must hold
exactly ``count`` instances, all of the stack's serving colour and all named in the
backend stack's outputs, and one of each shared resource: nothing doubled, nothing
orphaned. A rollback must leave no instance of the abandoned colour even before the
re-run.

A ``hang`` answers after 2.5 s while the clients give up after 1 s
(``LAMBDA_LABS_TIMEOUT_S``): the request takes effect after the caller stopped waiting.

The last test writes a JSON summary to the pytest temp dir and prints it.
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from flows.lambda_provisioning import lambda_provisioning
from flows.params import HealthParams, ProvisioningParams
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.domain.lambda_cloud import GONE, Instance
from orchestra_ops.errors import OpsError
from orchestra_ops.sandbox.faults import Fault, FaultMode
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.lambda_cloud.emulator import HEALTH_PROXY_PATH
from orchestra_ops.sandbox.runner import SANDBOX_LAMBDA_KEY
from orchestra_ops.sandbox.server import serve_in_thread
from tasks.provisioning import stack_outputs
from tests.chaos import SOAK
from tests.doubles.program_engine import copy_projects

DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"
COUNT = 1  # dev's stack config: one API instance
SHARED_NAMES = {"ssh_key": "orchestra-dev", "filesystem": "orchestra-dev-data"}
RULESET_NAME = "orchestra-dev-api"

# step -> (method, path, when it mutates: in a blue-green rollout, or on a fresh environment)
STEPS: dict[str, tuple[str, str, str]] = {
    "launch": ("POST", r"/api/v1/instance-operations/launch", "blue-green"),
    "terminate": ("POST", r"/api/v1/instance-operations/terminate", "blue-green"),
    "ssh-keys": ("POST", r"/api/v1/ssh-keys", "fresh"),
    "filesystems": ("POST", r"/api/v1/filesystems", "fresh"),
    "firewall-rulesets": ("POST", r"/api/v1/firewall-rulesets", "fresh"),
}
MODES: list[tuple[FaultMode, int]] = [
    ("respond", 429),
    ("respond", 500),
    ("respond", 503),
    ("after_effect", 500),
    ("hang", 200),  # answers after HANG_S, past the client's LAMBDA_LABS_TIMEOUT_S
]
TIMEOUT_S = 1.0
HANG_S = 2.5

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@dataclass(frozen=True)
class Scenario:
    """What one run injects."""

    step: str
    mode: FaultMode
    status: int
    count: int
    unhealthy_new_colour: bool

    @property
    def name(self) -> str:
        health = "-unhealthy" if self.unhealthy_new_colour else ""
        return f"{self.step}-{self.mode}-{self.status}-x{self.count}{health}"

    @property
    def phase(self) -> str:
        return STEPS[self.step][2]

    def fault(self) -> Fault:
        method, path, _ = STEPS[self.step]
        # An integer, as Lambda sends it; 1 s keeps the run short (0 would mean "12 s" to
        # the launcher, which falls back to the documented launch limit).
        headers = {"Retry-After": "1"} if self.status == 429 else {}
        return Fault(
            path=path,
            method=method,
            status=self.status,
            mode=self.mode,
            count=self.count,
            headers=headers,
            delay_s=HANG_S if self.mode == "hang" else 0.0,
        )


def every_scenario() -> list[Scenario]:
    """Every step with every fault, the new colour healthy and unhealthy (``make chaos``)."""
    combinations = itertools.product(sorted(STEPS), MODES, (False, True))
    return [
        Scenario(step, mode, status, 1 + i // 2 % 2, unhealthy)
        for i, (step, (mode, status), unhealthy) in enumerate(combinations)
    ]


CI_SCENARIOS = [
    Scenario("launch", "respond", 429, 2, False),
    Scenario("launch", "respond", 500, 2, True),
    Scenario("launch", "respond", 503, 1, False),
    Scenario("launch", "after_effect", 500, 2, True),
    Scenario("launch", "hang", 200, 1, False),
    Scenario("terminate", "respond", 429, 2, True),
    Scenario("terminate", "respond", 503, 2, False),
    Scenario("terminate", "after_effect", 500, 2, False),
    Scenario("terminate", "hang", 200, 1, True),
    Scenario("ssh-keys", "after_effect", 500, 1, True),
    Scenario("filesystems", "hang", 200, 1, True),
    Scenario("firewall-rulesets", "respond", 503, 2, True),
]
SCENARIOS = every_scenario() if SOAK else CI_SCENARIOS


@dataclass
class World:
    """One scenario's Lambda account, infrastructure copy and state dir."""

    emulator: LambdaCloudEmulator
    api_url: str
    infra: Path

    def api(self) -> LambdaCloudClient:
        return LambdaCloudClient(self.api_url, SecretStr(SANDBOX_LAMBDA_KEY), timeout_s=10)

    def live(self) -> list[Instance]:
        with self.api() as api:
            return [i for i in api.list_instances() if i.status not in GONE]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    infra = copy_projects(tmp_path / "pulumi")
    emulator = LambdaCloudEmulator(api_key=SANDBOX_LAMBDA_KEY)
    served = serve_in_thread(emulator.app(), name="lambda-api")
    try:
        monkeypatch.setenv("LAMBDA_LABS_API_URL", served.url)
        monkeypatch.setenv("LAMBDA_LABS_API_KEY", SANDBOX_LAMBDA_KEY)
        monkeypatch.setenv("LAMBDA_LABS_HEALTH_URL_TEMPLATE", served.url + HEALTH_PROXY_PATH)
        monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)
        monkeypatch.setenv("LAMBDA_LABS_TIMEOUT_S", str(TIMEOUT_S))
        yield World(emulator, served.url, infra)
    finally:
        served.stop()
        emulator.close()
        # A provider error inside the engine double leaves pulumi's sibling futures with
        # exceptions nobody retrieves; collect them here, inside this test's captured
        # output, not at a random later point (asyncio logs each one as it is freed).
        gc.collect()


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """Each scenario and what came of it, in the order they ran."""
    return []


def params(infra: Path) -> ProvisioningParams:
    return ProvisioningParams(
        environment="dev",
        infrastructure_dir=str(infra),
        health=HealthParams(consecutive=2, interval_s=0.05, budget_s=5, fail_fast_after=2),
    )


def attempt(infra: Path) -> tuple[str, BaseException | None]:
    """The run's outcome, or the name of what it raised (and the error itself)."""
    try:
        return lambda_provisioning(params(infra)).outcome, None
    except Exception as error:  # chaos: whatever ends the run is recorded and judged
        return type(error).__name__, error


def colour_of(instance: Instance) -> str | None:
    return {t.key: t.value for t in instance.tags}.get("colour")


def check_invariants(world: World) -> dict[str, Any]:
    """Orphans and doubles as the Lambda API sees them, against the backend stack."""
    outputs = stack_outputs.fn(world.infra / "backend", "dev")
    listed: list[object] = outputs.get("instance_ids") or []  # type: ignore[assignment]
    stack_ids = sorted(str(i) for i in listed)
    active = outputs.get("active_colour")
    live = world.live()
    with world.api() as api:
        shared = {
            "ssh_key": [k.name for k in api.list_ssh_keys()].count(SHARED_NAMES["ssh_key"]),
            "filesystem": [f.name for f in api.list_filesystems()].count(
                SHARED_NAMES["filesystem"]
            ),
            "ruleset": [r.name for r in api.list_firewall_rulesets()].count(RULESET_NAME),
        }
    orphans = sorted(i.id for i in live if i.id not in stack_ids or colour_of(i) != active)
    doubled = len(live) > COUNT or any(n > 1 for n in shared.values())
    return {
        "live": sorted(i.id for i in live),
        "stack_ids": stack_ids,
        "active_colour": active,
        "shared_counts": shared,
        "orphans": orphans,
        "doubled": doubled,
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_a_fault_then_a_clean_rerun_leaves_no_double_and_no_orphan(
    scenario: Scenario, world: World, records: list[dict[str, Any]]
) -> None:
    serving_before: list[str] = []
    if scenario.phase == "blue-green":
        first = lambda_provisioning(params(world.infra))
        assert first.outcome == "provisioned" and first.serving_colour == "blue"
        serving_before = first.instance_ids
    world.emulator.log.clear()
    fault_id = world.emulator.plan.add(scenario.fault())
    if scenario.unhealthy_new_colour:
        world.emulator.set_new_instance_health("fail")

    outcome, error = attempt(world.infra)

    fired = sum(1 for e in world.emulator.log.entries() if e.fault_id is not None)
    if scenario.mode == "hang":  # a hung request the client gave up on is not logged
        remaining = next((f.count for f in world.emulator.plan.active() if f.id == fault_id), 0)
        fired = scenario.count - (remaining or 0)
    world.emulator.plan.clear()
    world.emulator.set_new_instance_health("ok")
    # A rollback promises that only what served before is left, before any re-run.
    left_by_rollback = (
        sorted(i.id for i in world.live() if i.id not in serving_before)
        if outcome == "RolledBack"
        else []
    )
    rerun, rerun_error = attempt(world.infra)
    found = check_invariants(world)
    records.append(
        {
            **asdict(scenario),
            "name": scenario.name,
            "phase": scenario.phase,
            "fault_hits": fired,
            "outcome": outcome,
            "error": str(error)[:300] if error else None,
            "left_by_rollback": left_by_rollback,
            "rerun": rerun,
            "rerun_error": str(rerun_error)[:300] if rerun_error else None,
            **found,
        }
    )

    assert fired >= 1, f"the {scenario.step} fault never fired"
    assert error is None or isinstance(error, OpsError), repr(error)
    assert left_by_rollback == []
    assert rerun == "provisioned", rerun_error
    assert found["orphans"] == [] and not found["doubled"], found
    assert found["live"] == found["stack_ids"] and len(found["live"]) == COUNT


def test_summary_of_every_scenario(
    records: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Write and print the figures the lead quotes (scenarios tried, orphans, doubles)."""
    if not records:
        pytest.skip("no scenario ran in this session")
    summary = {
        "scenarios_tried": [r["name"] for r in records],
        "runs": len(records),
        "runs_with_orphan": sum(1 for r in records if r["orphans"] or r["left_by_rollback"]),
        "runs_with_double": sum(1 for r in records if r["doubled"]),
        "faults_fired": sum(1 for r in records if r["fault_hits"]),
        "outcomes": _tally(r["outcome"] for r in records),
        "steps": _tally(f"{r['step']} {r['mode']} {r['status']}" for r in records),
        "per_scenario": [
            {k: r[k] for k in ("name", "step", "mode", "status", "count")}
            | {k: r[k] for k in ("unhealthy_new_colour", "outcome", "rerun", "fault_hits")}
            for r in records
        ],
    }
    path = tmp_path_factory.getbasetemp() / "chaos-provisioning-summary.json"
    path.write_text(json.dumps(summary, indent=2))
    with capsys.disabled():
        print(f"\nchaos summary ({path}):\n{json.dumps(summary, indent=2)}")
    assert summary["runs_with_orphan"] == 0
    assert summary["runs_with_double"] == 0


def _tally(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))
