"""How far a long step has come, as a percentage for a Prefect progress artifact (pure).

A Vercel build moves through its ``readyState``s; a Pulumi update finishes one resource
step after another. Neither says how long it will take, so the figures are milestones,
not time estimates: 100 only once the step is really done.
"""

from __future__ import annotations

from orchestra_ops.domain.vercel import DeploymentState

_DEPLOYMENT_MILESTONES = {
    DeploymentState.QUEUED: 10.0,
    DeploymentState.INITIALIZING: 25.0,
    DeploymentState.BUILDING: 50.0,
    DeploymentState.READY: 90.0,  # ready, the alias not yet assigned
}


def deployment_percent(state: DeploymentState, alias_assigned: bool) -> float | None:
    """The milestone of a deployment in ``state``; None for a state that ends it unready."""
    if state is DeploymentState.READY and alias_assigned:
        return 100.0
    return _DEPLOYMENT_MILESTONES.get(state)


def stack_percent(done: int, planned: int | None) -> float:
    """Resource steps done out of those the preview planned; 99 at most until it ends.

    Without a plan (``planned`` None or 0) nothing better than "started" is known: 5.
    """
    if not planned:
        return 5.0
    return round(min(99.0, 100.0 * done / planned), 1)
