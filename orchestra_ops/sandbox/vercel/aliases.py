"""Alias listing and removal, and deployment removal, as ``vercel alias ls|rm`` and
``vercel remove`` (and the SDK's ``deleteDeployment``) use them.

Removing an alias or a deployment takes it off the edge at once: the edge looks hosts
up in the same state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestra_ops.sandbox.vercel.state import AliasRecord, DeploymentRecord, State, not_found


def _visible(state: State) -> list[AliasRecord]:
    """The aliases of the current scope, newest first."""
    items = [
        a
        for a in state.aliases.values()
        if a.deployment_id in state.deployments
        and state.deployment_in_scope(state.deployments[a.deployment_id])
    ]
    return sorted(items, key=lambda a: a.created_ms, reverse=True)


def render(state: State, alias: AliasRecord) -> dict[str, Any]:
    """One alias as ``GET /now/aliases/{alias}`` and the alias list give it."""
    record = state.deployments.get(alias.deployment_id)
    project = state.projects.get(alias.project_id)
    return {
        "uid": alias.uid,
        "alias": alias.alias,
        "created": _iso(alias.created_ms),
        "createdAt": alias.created_ms,
        "updatedAt": alias.created_ms,
        "deploymentId": alias.deployment_id,
        "projectId": alias.project_id,
        "ownerId": project["accountId"] if project else None,
        "deployment": {"id": record.id, "url": record.url} if record else None,
        "redirect": None,
    }


def listing(state: State, limit: int, until: int | None) -> dict[str, Any]:
    """GET /v3/now/aliases?limit&until (and /v4/aliases): newest first, paged by time."""
    items = [a for a in _visible(state) if until is None or a.created_ms < until]
    page = items[:limit]
    next_cursor = page[-1].created_ms if len(items) > limit and page else None
    return {
        "aliases": [render(state, a) for a in page],
        "pagination": {"count": len(page), "next": next_cursor, "prev": None},
    }


def find(state: State, alias_or_id: str) -> AliasRecord:
    """An alias of the current scope by hostname (any case, ``https://`` allowed) or uid."""
    host = alias_or_id.removeprefix("https://").strip(".").lower()
    for alias in _visible(state):
        if alias_or_id in (alias.uid, alias.alias) or host == alias.alias:
            return alias
    raise not_found("Alias")


def remove(state: State, alias: AliasRecord) -> dict[str, Any]:
    """Forget ``alias``: the edge stops serving its hostname."""
    state.aliases.pop(alias.alias, None)
    record = state.deployments.get(alias.deployment_id)
    if record is not None and alias.alias in record.aliases:
        record.aliases.remove(alias.alias)
    return {"status": "SUCCESS"}


def remove_deployment(state: State, record: DeploymentRecord) -> dict[str, Any]:
    """Delete a deployment with its aliases; a project it served has no production."""
    for host in [h for h, a in state.aliases.items() if a.deployment_id == record.id]:
        del state.aliases[host]
    for project_id in [p for p, d in state.production.items() if d == record.id]:
        del state.production[project_id]
    state.health.pop(record.id, None)
    del state.deployments[record.id]
    return {"uid": record.id, "state": "DELETED"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
