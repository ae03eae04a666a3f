"""A health gate run until it decides: probes through the Prober port, every interval.

Plain functions over the port, with the clock and the sleep handed in: the decisions are
``domain.health``'s, the probes are the adapter's (``adapters.health.HttpProber``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestra_ops.domain.frontend.gate import GateCheck
from orchestra_ops.domain.health import (
    GateProgress,
    GateState,
    HealthPolicy,
    ProbeResult,
    advance,
)
from orchestra_ops.ports.prober import Prober


def wait_healthy(
    prober: Prober,
    url: str,
    policy: HealthPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_probe: Callable[[ProbeResult, GateProgress], None] | None = None,
) -> GateProgress:
    """Probe ``url`` every ``policy.interval_s`` until the gate passes or fails."""
    opened = clock()
    progress = GateProgress()
    while progress.state is GateState.PROBING:
        result = prober.probe(url, policy.body_marker)
        progress = advance(progress, result, clock() - opened, policy)
        if on_probe is not None:
            on_probe(result, progress)
        if progress.state is GateState.PROBING:
            sleep(policy.interval_s)
    return progress


def run_checks(
    prober: Prober,
    checks: list[GateCheck],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[tuple[GateCheck, GateProgress]]:
    """Run each check's gate in turn; stops after the first that fails."""
    done = []
    for check in checks:
        progress = wait_healthy(prober, check.url, check.policy, sleep=sleep, clock=clock)
        done.append((check, progress))
        if progress.state is not GateState.PASSED:
            break
    return done
