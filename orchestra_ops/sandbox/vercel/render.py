"""JSON views of deployments: the full object, list items, summaries and build events."""

from __future__ import annotations

from typing import Any

from orchestra_ops.sandbox.vercel.state import OWNER_SLUG, USER_SLUG, DeploymentRecord, State


def times(state: State, record: DeploymentRecord) -> tuple[int, int]:
    """(buildingAt, ready) in ms, following the same clock model as ``State.state_of``."""
    delay_ms = int(state.build_delay_s * 1000)
    return record.created_ms + delay_ms // 5, record.created_ms + delay_ms


def _project_name(state: State, record: DeploymentRecord) -> str:
    project = state.projects.get(record.project_id)
    return str(project["name"]) if project else record.name


def owner_of(state: State, record: DeploymentRecord) -> str:
    """The account (team or user id) owning the deployment's project."""
    project = state.projects.get(record.project_id)
    return str(project["accountId"]) if project else state.owner_id


def creator(state: State) -> dict[str, str]:
    """The deployment's creator: the token's user."""
    return {"uid": state.user_id, "username": USER_SLUG}


def inspector_url(state: State, record: DeploymentRecord) -> str:
    """The dashboard link of a deployment (a dead link in the sandbox, as a string only)."""
    slug = state.slug_of(owner_of(state, record))
    return f"https://vercel.com/{slug}/{_project_name(state, record)}/{record.id[4:]}"


def ready_substate(state: State, record: DeploymentRecord) -> str | None:
    """PROMOTED for the deployment production points at, STAGED for other production ones."""
    if record.target != "production" or state.state_of(record) != "READY":
        return None
    promoted = state.production.get(record.project_id) == record.id
    return "PROMOTED" if promoted else "STAGED"


def deployment(state: State, record: DeploymentRecord) -> dict[str, Any]:
    """The full deployment object (every field the SDK's full variant requires)."""
    ready_state = state.state_of(record)
    building_at, ready_at = times(state, record)
    body: dict[str, Any] = {
        "id": record.id,
        "url": record.url,
        "name": record.name,
        "readyState": ready_state,
        "status": ready_state,
        "aliasAssigned": record.settled and ready_state == "READY",
        "alias": list(record.aliases) if record.settled else [],
        "aliasError": None,
        "aliasFinal": None,
        "createdAt": record.created_ms,
        "buildingAt": building_at,
        "bootedAt": building_at,
        "createdIn": "sfo1",
        "creator": creator(state),
        "env": [],
        "build": {"env": []},
        "buildSkipped": False,
        "inspectorUrl": inspector_url(state, record),
        "isInConcurrentBuildsQueue": False,
        "isInSystemBuildsQueue": False,
        "meta": dict(record.meta),
        "ownerId": owner_of(state, record),
        "plan": "pro" if owner_of(state, record) == state.team_id else "hobby",
        "projectId": record.project_id,
        "projectSettings": dict(record.project_settings),
        "public": False,
        "regions": ["iad1"],
        "routes": None,
        "type": "LAMBDAS",
        "version": 2,
        "target": record.target,
        "source": "cli",
    }
    if body["ownerId"] == state.team_id:
        body["team"] = {"id": state.team_id, "name": "Sandbox Team", "slug": OWNER_SLUG}
    if ready_state in ("READY", "ERROR", "CANCELED"):
        body["ready"] = record.canceled_ms or ready_at
    substate = ready_substate(state, record)
    if substate:
        body["readySubstate"] = substate
    if ready_state == "ERROR":
        body["errorCode"] = "BUILD_FAILED"
        body["errorMessage"] = record.fail_message
    return body


def list_item(state: State, record: DeploymentRecord) -> dict[str, Any]:
    """An item of GET /v6|v7/deployments (``uid``, not ``id``)."""
    ready_state = state.state_of(record)
    building_at, ready_at = times(state, record)
    return {
        "uid": record.id,
        "name": record.name,
        "url": record.url,
        "created": record.created_ms,
        "createdAt": record.created_ms,
        "buildingAt": building_at,
        "ready": ready_at if ready_state == "READY" else None,
        "state": ready_state,
        "readyState": ready_state,
        "readySubstate": ready_substate(state, record),
        "target": record.target,
        "projectId": record.project_id,
        "creator": creator(state),
        "inspectorUrl": inspector_url(state, record),
        "type": "LAMBDAS",
        "aliasAssigned": record.settled and ready_state == "READY",
        "isRollbackCandidate": record.target == "production" and ready_state == "READY",
        "meta": dict(record.meta),
    }


def summary(state: State, record: DeploymentRecord) -> dict[str, Any]:
    """The short form a project carries in ``latestDeployments`` and ``targets``."""
    item = list_item(state, record)
    item["id"] = record.id
    item["alias"] = list(record.aliases)
    item["plan"] = "pro" if owner_of(state, record) == state.team_id else "hobby"
    return item


def events(state: State, record: DeploymentRecord) -> list[dict[str, Any]]:
    """The build log so far, in the documented event shape."""
    ready_state = state.state_of(record)
    building_at, ready_at = times(state, record)
    lines: list[tuple[str, int, str]] = [
        ("command", record.created_ms, "Running build in Washington, D.C., USA (East) - iad1"),
        ("stdout", record.created_ms, f"Retrieving list of deployment files ({len(record.files)})"),
    ]
    if ready_state != "QUEUED":
        lines.append(("stdout", building_at, "Building (sandbox: serving the uploaded files)"))
    if ready_state == "READY":
        lines.append(("stdout", ready_at, "Build Completed"))
        lines.append(("stdout", ready_at, "Deployment completed"))
    elif ready_state == "ERROR":
        lines.append(("stderr", ready_at, f"Error: {record.fail_message}"))
        lines.append(("exit", ready_at, "Command exited with 1"))
    elif ready_state == "CANCELED":
        lines.append(("stderr", record.canceled_ms or ready_at, "The deployment was canceled"))
    build_id = "bld_" + record.id[4:]
    return [
        {
            "type": kind,
            "created": created,
            "payload": {
                "id": f"{record.id[4:]}-{serial}",
                "date": created,
                "deploymentId": record.id,
                "serial": f"{created}-{serial:04d}",
                "text": text,
                "info": {"type": "build", "name": build_id, "entrypoint": "."},
            },
        }
        for serial, (kind, created, text) in enumerate(lines)
    ]
