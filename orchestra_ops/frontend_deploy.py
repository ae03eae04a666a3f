"""A release's deployment, as plain functions over the Vercel port.

:func:`deploy_release` adopts a deployment of the very same source (a retried or resumed
run re-sends the same files) instead of building it twice; :func:`wait_ready` follows a
deployment until it serves under its alias, or says how it ended and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

from orchestra_ops.domain.progress import deployment_percent
from orchestra_ops.domain.vercel import Deployment, DeploymentId, DeploymentState, ProjectSettings
from orchestra_ops.errors import DeploymentFailed
from orchestra_ops.ports.vercel import VercelApi

#: The deployment meta key holding the digest of its source and build settings.
DIGEST_META = "orchestraDigest"

#: A deployment in these states serves, or will: the same source need not build again.
_ON_ITS_WAY = (DeploymentState.READY, DeploymentState.BUILDING, DeploymentState.QUEUED)
_ENDED_UNREADY = (DeploymentState.ERROR, DeploymentState.CANCELED)


def adoptable(deployments: Iterable[Deployment], digest: str) -> Deployment | None:
    """The first deployment of the same source that serves or is on its way, if any."""
    for existing in deployments:
        if existing.meta.get(DIGEST_META) == digest and existing.state in _ON_ITS_WAY:
            return existing
    return None


def deploy_release(
    vercel: VercelApi,
    project: str,
    files: Mapping[str, bytes],
    settings: ProjectSettings,
    digest: str,
    project_deployments: list[Deployment],
) -> tuple[Deployment, bool]:
    """The release's deployment, and whether it was adopted rather than created."""
    same = adoptable(project_deployments, digest)
    if same is not None:
        return same, True
    created = vercel.create_deployment(
        project, files, project_settings=settings, meta={DIGEST_META: digest}
    )
    return created, False


def wait_ready(
    vercel: VercelApi,
    deployment_id: DeploymentId,
    timeout_s: float,
    poll_s: float = 1.0,
    *,
    show: Callable[[float, str], None] = lambda _percent, _what: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Deployment:
    """Poll until READY with its alias assigned; ``show`` hears each milestone.

    Raises DeploymentFailed for ERROR or CANCELED (with the error, else the build log's
    last lines) and when ``timeout_s`` passes first.
    """
    deadline = clock() + timeout_s
    while True:
        current = vercel.get_deployment(deployment_id)
        percent = deployment_percent(current.state, current.alias_assigned)
        if percent is not None:
            state = current.state.value.lower() + (", alias assigned" if percent == 100 else "")
            link = f"[{current.url}](https://{current.url})"
            show(percent, f"Vercel deployment {deployment_id} ({link}): {state}")
        if current.state in _ENDED_UNREADY:
            events = vercel.deployment_events(deployment_id)
            tail = " | ".join(e.serial for e in events[-5:])
            raise DeploymentFailed(
                deployment_id, current.state.value, current.error_message or tail
            )
        if current.state is DeploymentState.READY and current.alias_assigned:
            return current
        if clock() > deadline:
            raise DeploymentFailed(
                deployment_id, current.state.value, f"not ready in {timeout_s:.0f} s"
            )
        sleep(poll_s)
