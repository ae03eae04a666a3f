"""Prefect automations of Orchestra Ops, as code: created or updated by `make deploy`.

**Crashed when heartbeats stop.** A flow-run process killed with SIGKILL (or whose
machine died) leaves its run RUNNING for ever, holding its deployment's concurrency
slot. Every flow run sends a heartbeat event (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``,
30 s on this project's work pool, Prefect's default 180 s elsewhere); this automation
marks a run CRASHED when ``SILENCE_S`` pass after a heartbeat with neither another
heartbeat nor a final state. The transition to CRASHED releases the run's deployment
concurrency slot. ``orchestra-ops recover`` lists such runs too.

**Alerts on Failed, Crashed and Late runs** of every deployment ``prefect.yaml`` lists,
and on their work pool left without a worker, sent through a Prefect notification block
to ORCHESTRA_NOTIFY_WEBHOOK_URL (see ``deployments/alerts.py``). Without that setting no
alert automation is created, and the command says so on stderr.

Run ``python -m deployments.automations`` with PREFECT_API_URL set; running it again
changes nothing (it prints what it created, updated or left as it was; never the URL).
Exit codes: 0 done, 1 the server refused or could not be reached, 2 bad settings or
``prefect.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import cast

from prefect.automations import Automation, ChangeFlowRunState, EventTrigger, Posture
from prefect.client.schemas.objects import StateType
from pydantic import SecretStr

from deployments.alerts import (
    ALERTS,
    PREFECT_YAML,
    Watched,
    alert_automation,
    ensure_block,
    watched,
    webhook_block,
)
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import load_settings

ZOMBIE_NAME = "orchestra-ops: crashed when heartbeats stop"
#: Silence after a heartbeat that marks a run crashed: above Prefect's default interval
#: (180 s), so a run started outside the work pool is never marked by mistake.
SILENCE_S = 300
#: Any event of the run is a sign of life: a heartbeat, or a state, whatever its name (the
#: flows end in named final states too: PolicyViolation, RolledBack, RollbackFailed, ...;
#: listing Prefect's four names only made the automation fire on such finished runs).
_ANY_RUN_EVENT = "prefect.flow-run.*"


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
            # Every flow run, not only this project's deployments': a heartbeat names its
            # deployment by id alone (no name to match), and ids change with each deploy.
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.heartbeat"},
            expect={_ANY_RUN_EVENT},
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


def ensure_alerts(webhook: SecretStr | None, timeout_s: float, watching: Watched) -> list[str]:
    """The notification block and one alert automation per kind; what happened to each.

    Without a webhook nothing is created and the one line says so; without a work pool in
    ``prefect.yaml`` there is no pool to watch, and that is said too.
    """
    if webhook is None:
        kinds = "/".join(a.key for a in ALERTS)
        return [
            f"no {kinds} alert automations: ORCHESTRA_NOTIFY_WEBHOOK_URL is not set (set it, "
            "e.g. in .env, and run `make deploy` again); existing ones are left as they are"
        ]
    block_id, said = ensure_block(webhook_block(webhook, timeout_s))
    lines = [said]
    for alert in ALERTS:
        if alert.kind == "work-pool" and not watching.pools:
            lines.append(f"no {alert.name!r}: prefect.yaml names no work pool to watch")
        else:
            lines.append(ensure(alert_automation(alert, watching, block_id)))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Create or update every automation of the project."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--silence-s", type=int, default=SILENCE_S, help="seconds of silence")
    parser.add_argument(
        "--prefect-yaml", type=Path, default=PREFECT_YAML, help="lists the deployments to watch"
    )
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="read after the env")
    args = parser.parse_args(argv)
    if args.silence_s < 10:
        parser.error("--silence-s must be at least 10 (Prefect's minimum for such triggers)")
    try:
        notify = load_settings(args.env_file).notify
        watching = watched(args.prefect_yaml)
    except ConfigError as error:
        print(f"automations: {error}", file=sys.stderr)
        return 2
    try:
        print(ensure(zombie_automation(args.silence_s)))
        for line in ensure_alerts(notify.webhook_url, notify.timeout_s, watching):
            print(line, file=sys.stdout if notify.webhook_url else sys.stderr)
    except Exception as error:  # one line for a person at a terminal, not a traceback
        print(f"automations: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
