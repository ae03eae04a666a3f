"""B7 and the Pulumi engine's own cost, with the engine against the sandbox's Lambda emulator.

B7: a blue-green rollout's wall time over its floor. The emulator keeps each new instance
    ``booting`` for BOOT_DELAY_S and a terminated one ``terminating`` as long. The
    lambda-provisioning flow runs a first rollout (blue, 2 instances) and a second one
    (green next to blue, switch, retire blue): the second waits for green to boot and for
    blue to be gone, so its floor is two delays. The figure is its wall time over them.
B7-up-unchanged: an engine ``up`` of the backend stack when nothing changed (median of
    REPEATS): the engine's fixed cost per update (CLI, inline program, provider plugin).
B7-engine-overhead: one change, one more instance (no boot delay), made by the engine's
    ``up``, over the same create made by the dynamic provider called in this process
    (median of REPEATS each). Calling the provider in-process is what the engine's test
    double does per change (less its mocks runtime); a benchmark runs product code only,
    so the double itself is not used here.

The stacks run on the Pulumi CLI (on PATH, or built by ``make pulumi``) on a file backend
in a temp dir, whatever PULUMI_* is set. Run with ``python bench/provisioning.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _results import record, summary

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python bench/provisioning.py"
BOOT_DELAY_S = 20.0
POLL_S = 0.5
REPEATS = 3


def _environment(work: Path) -> None:
    """A private Prefect (with the generous start-up of the other benches) and stack state."""
    os.environ.update(
        {
            "PREFECT_HOME": str(work / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "ORCHESTRA_STATE_DIR": str(work / "state"),
            "ORCHESTRA_STACK_ENGINE": "pulumi",
            # the local file backend under ORCHESTRA_STATE_DIR, never the caller's account
            "PULUMI_ACCESS_TOKEN": "",
            "PULUMI_BACKEND_URL": "",
            "PULUMI_CONFIG_PASSPHRASE": "",
        }
    )
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.pop("PREFECT_API_URL", None)


def _projects(into: Path) -> Path:
    """The shared and backend projects, the backend polling every POLL_S."""
    for project in ("shared", "backend"):
        shutil.copytree(ROOT / "infrastructure" / "pulumi" / project, into / project)
    stack_file = into / "backend" / "Pulumi.dev.yaml"
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(text.replace('poll_s: "10"', f'poll_s: "{POLL_S}"'), encoding="utf-8")
    return into


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    result = work()
    return time.monotonic() - started, result


def _engine_costs(backend_dir: Path) -> dict[str, list[float]]:
    """Unchanged ups; one more instance by the engine, then by the provider in-process."""
    from orchestra_ops.adapters.pulumi.provider._common import inputs_of
    from orchestra_ops.adapters.pulumi.provider.lambda_instance import LambdaInstanceProvider
    from orchestra_ops.settings import load_settings
    from orchestra_ops.wiring import build

    engine = build(load_settings(None)).stack_engine()
    ref = engine.select_or_create(backend_dir, "dev")
    costs: dict[str, list[float]] = {"unchanged": [], "engine": [], "provider": []}
    for _ in range(REPEATS):
        costs["unchanged"].append(_timed(lambda: engine.up(ref))[0])
    provider = LambdaInstanceProvider()
    for _ in range(REPEATS):
        engine.set_config(ref, {"orchestra-backend:count": "3"})
        costs["engine"].append(_timed(lambda: engine.up(ref))[0])
        deployment = json.loads(engine.export(ref))["deployment"]
        (added,) = [r for r in deployment["resources"] if r["urn"].endswith("::api-green-2")]
        engine.set_config(ref, {"orchestra-backend:count": "2"})
        engine.up(ref)  # the engine's instance goes; the provider launches the same one
        props = inputs_of(added["inputs"])
        took, created = _timed(lambda: provider.create(props))  # noqa: B023 (called here)
        costs["provider"].append(took)
        provider.delete(str(created.id), created.outs)
    return costs


def main() -> None:
    """Two rollouts on the sandbox (B7), then the engine's costs on the same stack."""
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="bench-provisioning-"))
    _environment(work)
    from flows.lambda_provisioning import lambda_provisioning
    from flows.params import HealthParams, ProvisioningParams
    from orchestra_ops.adapters.pulumi.cli import find_cli, pulumi_command
    from orchestra_ops.sandbox.runner import Sandbox

    cli = find_cli()
    if cli is None or cli.launcher_dir is None:
        raise SystemExit(
            "bench/provisioning.py: B7 is measured with the Pulumi engine; no CLI with its "
            "dynamic-provider launcher was found (run `make pulumi`, or install the CLI)"
        )
    infra = _projects(work / "pulumi")
    request = ProvisioningParams(
        environment="dev",
        count=2,
        infrastructure_dir=str(infra),
        health=HealthParams(consecutive=3, interval_s=0.2, budget_s=30, fail_fast_after=3),
    )
    sandbox = Sandbox(work / "sandbox", boot_delay_s=BOOT_DELAY_S)
    try:
        with sandbox as endpoints:
            os.environ.update(endpoints.as_environment())
            lambda_provisioning(request)  # blue; also starts Prefect's local server
            wall_s, report = _timed(lambda: lambda_provisioning(request))  # green, retire blue
            sandbox.lambda_cloud.state.boot_delay_s = 0.0  # the engine's cost, not the boot
            costs = _engine_costs(infra / "backend")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    version = pulumi_command(cli.executable).version
    figures = _figures(wall_s, str(report.serving_colour), costs, f"CLI v{version}")
    record(figures)
    for figure in figures:
        print(summary(figure))


def _figures(
    wall_s: float, serving: str, costs: dict[str, list[float]], cli: str
) -> list[dict[str, Any]]:
    unchanged = statistics.median(costs["unchanged"])
    engine, provider = statistics.median(costs["engine"]), statistics.median(costs["provider"])
    return [
        {
            "key": "B7",
            "name": "blue-green rollout of 2 instances / (boot + termination delay)",
            "value": round(wall_s / (2 * BOOT_DELAY_S), 2),
            "unit": "ratio",
            "goal": "for the record (floor 1)",
            "command": COMMAND,
            "detail": (
                f"{wall_s:.1f} s with a {BOOT_DELAY_S:.0f} s boot delay and {POLL_S} s "
                f"polling, on the Pulumi engine ({cli}); serving {serving}"
            ),
        },
        {
            "key": "B7-up-unchanged",
            "name": "engine up of the unchanged backend stack (2 instances)",
            "value": round(unchanged, 2),
            "unit": "s",
            "goal": "for the record",
            "command": COMMAND,
            "detail": f"median of {REPEATS}: " + ", ".join(f"{s:.2f}" for s in costs["unchanged"]),
        },
        {
            "key": "B7-engine-overhead",
            "name": "one more instance: engine up / the provider's create called in-process",
            "value": round(engine / provider, 1),
            "unit": "ratio",
            "goal": "for the record",
            "command": COMMAND,
            "detail": (
                f"medians of {REPEATS}, no boot delay: engine up {engine:.2f} s vs provider "
                f"create {provider:.2f} s (+{engine - provider:.2f} s); the in-process call is "
                "what the engine's test double makes per change"
            ),
        },
    ]


if __name__ == "__main__":
    main()
