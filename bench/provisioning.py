"""B7: provisioning wall time over the emulator's boot delay (the orchestration overhead).

The sandbox's Lambda emulator keeps each new instance ``booting`` for BOOT_DELAY_S, and a
terminated one ``terminating`` as long. The lambda-provisioning flow runs a first rollout
(blue, 2 instances) and a second one (green next to blue, switch, retire blue): the second
waits for green to boot and for blue to be gone, so its floor is two delays. The figure
is the second rollout's wall time over that floor.
The stacks run on the engine test double (tests/doubles), as in the tests.
Run with ``python bench/provisioning.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _results import record, summary

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python bench/provisioning.py"
BOOT_DELAY_S = 20.0
POLL_S = 0.5


def main() -> None:
    """Run two rollouts on the sandbox and record the second one's overhead ratio."""
    sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="bench-provisioning-"))
    os.environ.update(
        {
            "PREFECT_HOME": str(work / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "ORCHESTRA_STATE_DIR": str(work / "state"),
            "ORCHESTRA_STACK_ENGINE": "tests.doubles.program_engine:ProgramUnderMocksEngine",
        }
    )
    from flows.lambda_provisioning import ProvisioningParams, lambda_provisioning
    from flows.params import HealthParams
    from orchestra_ops.sandbox.runner import Sandbox
    from tests.doubles.program_engine import copy_projects

    infra = copy_projects(work / "pulumi")
    stack_file = infra / "backend" / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace('poll_s: "10"', f'poll_s: "{POLL_S}"'), encoding="utf-8"
    )
    request = ProvisioningParams(
        environment="dev",
        count=2,
        infrastructure_dir=str(infra),
        health=HealthParams(consecutive=3, interval_s=0.2, budget_s=30, fail_fast_after=3),
    )
    with Sandbox(work / "sandbox", boot_delay_s=BOOT_DELAY_S) as endpoints:
        os.environ.update(endpoints.as_environment())
        lambda_provisioning(request)  # blue; also starts Prefect's local server
        started = time.monotonic()
        report = lambda_provisioning(request)  # green next to blue, switch, retire blue
        wall_s = time.monotonic() - started
    shutil.rmtree(work, ignore_errors=True)
    figure = {
        "key": "B7",
        "name": "blue-green rollout of 2 instances / (boot + termination delay)",
        "value": round(wall_s / (2 * BOOT_DELAY_S), 2),
        "unit": "ratio",
        "goal": "for the record (floor 1)",
        "command": COMMAND,
        "detail": (
            f"{wall_s:.1f} s with a {BOOT_DELAY_S:.0f} s boot delay and {POLL_S} s polling; "
            f"serving {report.serving_colour}"
        ),
    }
    record([figure])
    print(summary(figure))


if __name__ == "__main__":
    main()
