"""Prefect automations of Orchestra Ops, as code: created or updated by `make deploy`.

**Crashed when heartbeats stop.** A flow-run process killed with SIGKILL (or whose
machine died) leaves its run RUNNING for ever, holding its deployment's concurrency
slot. Every flow run sends a heartbeat event (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``,
30 s on this project's work pool, Prefect's default 180 s elsewhere); this automation
marks a run CRASHED when ``SILENCE_S`` pass after a heartbeat with neither another
heartbeat nor a final state. The transition to CRASHED releases the run's deployment
concurrency slot. ``orchestra-ops recover`` lists such runs too.

Run ``python -m deployments.automations`` with PREFECT_API_URL set; running it again
changes nothing (it prints what it created, updated or left as it was).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import cast

from prefect.automations import Automation, ChangeFlowRunState, EventTrigger, Posture
from prefect.client.schemas.objects import StateType

ZOMBIE_NAME = "orchestra-ops: crashed when heartbeats stop"
#: Heartbeat interval set on the work pool (seconds).
HEARTBEAT_S = 30
#: Silence after a heartbeat that marks a run crashed: above Prefect's default interval
#: (180 s), so a run started outside the work pool is never marked by mistake.
SILENCE_S = 300
_FINAL_EVENTS = {
    f"prefect.flow-run.{name}" for name in ("Completed", "Failed", "Cancelled", "Crashed")
}


def zombie_automation(silence_s: int = SILENCE_S) -> Automation:
    """The automation that marks a silent RUNNING flow run as CRASHED."""
    return Automation(
        name=ZOMBIE_NAME,
        description=(
            f"A flow run that sent no heartbeat for {silence_s} s and did not finish is "
            "marked Crashed (its process died); this frees its concurrency slot."
        ),
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *_FINAL_EVENTS},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=silence_s),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {silence_s} s: the flow-run process died; "
                "run `orchestra-ops recover` to settle what it left open",
            )
        ],
    )


def ensure(wanted: Automation) -> str:
    """Create ``wanted``, or update the automation of that name; returns what happened."""
    try:
        # Called outside an event loop, Prefect's read runs synchronously.
        current = cast(Automation, Automation.read(name=wanted.name))
    except ValueError:
        wanted.create()
        return f"created {wanted.name!r}"
    fields = ("description", "enabled", "trigger", "actions")
    if all(getattr(current, f) == getattr(wanted, f) for f in fields):
        return f"unchanged {wanted.name!r}"
    for name in fields:
        setattr(current, name, getattr(wanted, name))
    current.update()
    return f"updated {wanted.name!r}"


def main(argv: list[str] | None = None) -> int:
    """Create or update every automation of the project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--silence-s", type=int, default=SILENCE_S, help="seconds of silence")
    args = parser.parse_args(argv)
    if args.silence_s < 10:
        parser.error("--silence-s must be at least 10 (Prefect's minimum for such triggers)")
    try:
        print(ensure(zombie_automation(args.silence_s)))
    except Exception as error:  # one line for a person at a terminal, not a traceback
        print(f"automations: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
