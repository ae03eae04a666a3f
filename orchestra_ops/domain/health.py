"""Health gates: when has a deployment or an instance proven healthy, or failed?

Pure decision logic; the probing (HTTP) is the health adapter's. A gate passes after
``consecutive`` good probes in a row, and fails once ``budget_s`` has passed without
that, or at once on ``fail_fast_after`` bad probes in a row.

A status of 200 proves little on its own (a maintenance page answers 200 too), so a
policy can also ask for the exact bytes of a release (``expect_digest``, the SHA-256 of
the body) or refuse a known page (``reject_digest``: an API route answered by the app's
own index page means the rewrite is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class HealthPolicy:
    """What counts as healthy, and how long to keep trying."""

    consecutive: int = 3
    interval_s: float = 1.0
    budget_s: float = 60.0
    latency_budget_s: float = 2.0
    body_marker: str | None = None
    fail_fast_after: int | None = None
    expect_digest: str | None = None
    reject_digest: str | None = None

    def __post_init__(self) -> None:
        if self.consecutive < 1:
            raise ValueError("consecutive must be at least 1")
        if self.interval_s < 0 or self.budget_s <= 0 or self.latency_budget_s <= 0:
            raise ValueError("interval, budget and latency budget must be positive")


@dataclass(frozen=True)
class ProbeResult:
    """One probe: status (None when no answer), latency, and whether the marker was seen."""

    status: int | None
    latency_s: float
    marker_seen: bool = True
    error: str | None = None
    digest: str | None = None
    edge_error: str | None = None


def judge(result: ProbeResult, policy: HealthPolicy) -> str | None:
    """None when the probe is healthy, else the reason it is not."""
    if result.status is None:
        return f"no answer ({result.error or 'unknown error'})"
    if not 200 <= result.status < 400:
        return f"HTTP {result.status}" + (f" ({result.edge_error})" if result.edge_error else "")
    if result.edge_error is not None:
        return f"an edge error page ({result.edge_error})"
    if result.latency_s > policy.latency_budget_s:
        return f"slow: {result.latency_s:.2f} s > {policy.latency_budget_s:.2f} s"
    if policy.body_marker is not None and not result.marker_seen:
        return f"body lacks {policy.body_marker!r}"
    if policy.expect_digest is not None and result.digest != policy.expect_digest:
        return (
            f"serves other bytes than the release (sha256 {_short(result.digest)}, "
            f"expected {_short(policy.expect_digest)})"
        )
    if policy.reject_digest is not None and result.digest == policy.reject_digest:
        return (
            "answered with the same page as the site's index (an SPA fallback or a "
            "maintenance page), not by the API"
        )
    return None


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "none"


class GateState(StrEnum):
    """Where a gate stands."""

    PROBING = "probing"
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class GateProgress:
    """The gate after some probes; fold :func:`advance` over probe results."""

    state: GateState = GateState.PROBING
    good_streak: int = 0
    bad_streak: int = 0
    probes: int = 0
    last_problem: str | None = None
    digest: str | None = None
    digest_varies: bool = False


def advance(
    progress: GateProgress, result: ProbeResult, elapsed_s: float, policy: HealthPolicy
) -> GateProgress:
    """The gate after one more probe, taken ``elapsed_s`` after the gate opened."""
    if progress.state is not GateState.PROBING:
        return progress
    problem = judge(result, policy)
    good = 0 if problem else progress.good_streak + 1
    bad = progress.bad_streak + 1 if problem else 0
    digest, varies = progress.digest, progress.digest_varies
    if not problem:
        varies = varies or (progress.good_streak > 0 and result.digest != progress.digest)
        digest = result.digest
    state = GateState.PROBING
    if good >= policy.consecutive:
        state = GateState.PASSED
    elif policy.fail_fast_after is not None and bad >= policy.fail_fast_after:
        state = GateState.FAILED
    elif elapsed_s >= policy.budget_s:
        state = GateState.FAILED
    return GateProgress(
        state, good, bad, progress.probes + 1, problem or progress.last_problem, digest, varies
    )


def describe(progress: GateProgress, policy: HealthPolicy) -> str:
    """One line for logs and reports."""
    if progress.state is GateState.PASSED:
        return f"healthy: {policy.consecutive} good probes in a row ({progress.probes} probes)"
    if progress.state is GateState.FAILED:
        return f"unhealthy after {progress.probes} probes: {progress.last_problem}"
    return f"probing: {progress.good_streak}/{policy.consecutive} good in a row"
