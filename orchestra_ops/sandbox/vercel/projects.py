"""Project operations of the Vercel emulator: create, read, update, delete, list.

The project JSON carries every field Vercel's OpenAPI marks required; ``env``,
``latestDeployments`` and ``targets`` are derived from the state when rendered.
"""

from __future__ import annotations

import re
from typing import Any

from orchestra_ops.sandbox.vercel import envs
from orchestra_ops.sandbox.vercel.render import summary
from orchestra_ops.sandbox.vercel.state import ApiError, State, bad_request

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_SETTINGS = (
    "framework",
    "buildCommand",
    "devCommand",
    "installCommand",
    "outputDirectory",
    "rootDirectory",
    "nodeVersion",
    "publicSource",
    "serverlessFunctionRegion",
    "commandForIgnoringBuildStep",
)
_PATCHABLE = (*_SETTINGS, "name", "autoAssignCustomDomains")
_REGIONS = {"functionDefaultRegions": ["iad1"]}


def create(state: State, body: dict[str, Any]) -> dict[str, Any]:
    """POST /v11/projects."""
    name = body.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_request(
            "Project names must be lowercase, up to 100 characters: letters, digits, '.', '_', '-'"
        )
    if any(p["name"] == name for p in state.visible_projects()):
        raise ApiError(409, "conflict", f"Project {name!r} already exists")
    now = state.stamp()
    project: dict[str, Any] = {
        "id": State.new_id("prj_", 28),
        "name": name,
        "accountId": state.owner_id,
        "createdAt": now,
        "updatedAt": now,
        "framework": None,
        "nodeVersion": "22.x",
        "autoAssignCustomDomains": True,
        "lastAliasRequest": None,
        "lastRollbackTarget": None,
        "directoryListing": False,
        "live": False,
    }
    for key in _SETTINGS:
        if key in body:
            project[key] = body[key]
    variables = body.get("environmentVariables") or []
    state.projects[project["id"]] = project
    state.envs[project["id"]] = []
    if variables:
        try:
            envs.create(state, project, variables, upsert=True)
        except ApiError:
            state.remove_project(project)
            raise
    return render(state, project)


def update(state: State, project: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """PATCH /v9/projects/{idOrName}: change settings (unknown keys are refused)."""
    unknown = sorted(set(body) - set(_PATCHABLE))
    if unknown:
        raise bad_request(f"Invalid request: should NOT have additional property {unknown[0]!r}")
    new_name = body.get("name", project["name"])
    if not isinstance(new_name, str) or not _NAME.match(new_name):
        raise bad_request("Invalid project name")
    taken = any(p["name"] == new_name for p in state.visible_projects())
    if new_name != project["name"] and taken:
        raise ApiError(409, "conflict", f"Project {new_name!r} already exists")
    project.update(body)
    project["updatedAt"] = state.stamp()
    return render(state, project)


def listing(state: State, limit: int, before: int | None, search: str | None) -> dict[str, Any]:
    """GET /v10/projects: newest first; ``pagination.next`` is passed back as ``from``."""
    items = sorted(state.visible_projects(), key=lambda p: p["createdAt"], reverse=True)
    if search:
        items = [p for p in items if search in p["name"]]
    if before is not None:
        items = [p for p in items if p["createdAt"] < before]
    page = items[:limit]
    more = len(items) > limit
    return {
        "projects": [render(state, p) for p in page],
        "pagination": {
            "count": len(page),
            "next": page[-1]["createdAt"] if more and page else None,
            "prev": None,
        },
    }


def render(state: State, project: dict[str, Any]) -> dict[str, Any]:
    """The project JSON, with derived fields filled in."""
    project_id = project["id"]
    deployments = sorted(
        (d for d in state.deployments.values() if d.project_id == project_id),
        key=lambda d: d.created_ms,
        reverse=True,
    )
    targets: dict[str, Any] = {}
    production = state.production.get(project_id)
    if production in state.deployments:
        targets["production"] = summary(state, state.deployments[production])
    return {
        **project,
        "env": [envs.render(e, decrypt=False) for e in state.envs.get(project_id, [])],
        "latestDeployments": [summary(state, d) for d in deployments[:5]],
        "targets": targets,
        "link": None,
        "crons": {
            "enabledAt": project["createdAt"],
            "disabledAt": None,
            "updatedAt": project["updatedAt"],
            "deploymentId": None,
            "definitions": [],
        },
        "alias": [],
        "defaultResourceConfig": dict(_REGIONS),
        "resourceConfig": dict(_REGIONS),
        "deploymentExpiration": {
            "expirationDays": 180,
            "expirationDaysProduction": 365,
            "expirationDaysCanceled": 30,
            "expirationDaysErrored": 90,
            "deploymentsToKeep": 10,
        },
    }
