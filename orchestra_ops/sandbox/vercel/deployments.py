"""Deployment operations of the Vercel emulator: create, cancel, aliases, promote, rollback.

Choices where the contract is silent: a deployment naming an unknown project creates
it (as the CLI's first deploy does); ``target`` ``"preview"`` or missing is stored as
None; an instant rollback turns the project's ``autoAssignCustomDomains`` off (new
production deployments stay STAGED) and a promote turns it back on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string
from datetime import UTC, datetime
from typing import Any, TypeVar

from orchestra_ops.sandbox.vercel import archive, build_output, projects
from orchestra_ops.sandbox.vercel.routing import validate_config
from orchestra_ops.sandbox.vercel.state import (
    ApiError,
    DeploymentRecord,
    Health,
    State,
    bad_request,
)

_SETTINGS = (
    "framework",
    "buildCommand",
    "devCommand",
    "installCommand",
    "outputDirectory",
    "rootDirectory",
    "nodeVersion",
    "serverlessFunctionRegion",
    "commandForIgnoringBuildStep",
    "sourceFilesOutsideRootDirectory",
)


def create(state: State, body: Any) -> DeploymentRecord:
    """POST /v13/deployments: every file must be known, else 400 missing_files."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise bad_request("Invalid request: missing required property `name`")
    if body.get("gitSource") is not None:
        if body.get("files"):
            raise bad_request("`gitSource` cannot be combined with `files`")
        raise bad_request("gitSource deployments are not supported by the sandbox: send files")
    source = _source(state, body.get("deploymentId"))
    files = dict(source.files) if source else _files(state, body.get("files") or [])
    files = _unpacked(state, files)
    settings = body.get("projectSettings") or {}
    if not isinstance(settings, dict) or set(settings) - set(_SETTINGS):
        raise bad_request("Invalid `projectSettings`")
    if body.get("project") is not None:
        project = state.project(str(body["project"]))  # a named project must exist
    else:
        project = _project_for(state, body["name"], settings)
    target = body.get("target")
    if target in (None, "preview"):
        target = None
    root = settings.get("rootDirectory", project.get("rootDirectory"))
    built = under_root(files, root)
    config, problem = _vercel_json(state, built)
    if root and not built:
        problem = (
            f'The specified Root Directory "{root}" does not exist. '
            "Please update your Project Settings."
        )
    if problem is None and build_output.is_build_output(list(files)):
        problem = _output_problem(state, files)
    if problem is None and state.pending_failures:
        problem = state.pending_failures.pop(0)
    record = DeploymentRecord(
        id=State.new_id("dpl_", 24),
        url=f"{project['name']}-{_suffix()}-{state.slug_of(project['accountId'])}.vercel.app",
        name=project["name"],
        project_id=project["id"],
        target=target,
        created_ms=state.stamp(),
        created_clock=state.clock(),
        files=files,
        project_settings={k: project.get(k) for k in _FROM_PROJECT} | settings,
        meta={str(k): str(v) for k, v in (body.get("meta") or {}).items()},
        vercel_json=config,
        fail_message=problem,
        auto_assign=body.get("autoAssignCustomDomains") is not False,
    )
    state.deployments[record.id] = record
    state.settle()
    return record


T = TypeVar("T")

#: The project's settings a deployment takes when its own ``projectSettings`` do not say.
_FROM_PROJECT = ("framework", "nodeVersion", "rootDirectory")


def under_root(files: dict[str, T], root: str | None) -> dict[str, T]:
    """The upload as the build sees it: with a Root Directory (a monorepo's app), only
    the files inside it, by their paths from there; else all of them."""
    if not root or not root.strip("/"):
        return files
    prefix = root.strip("/") + "/"
    return {path.removeprefix(prefix): v for path, v in files.items() if path.startswith(prefix)}


def _source(state: State, deployment_id: Any) -> DeploymentRecord | None:
    """The deployment a redeploy (``deploymentId``, as ``promote`` of a preview sends) copies."""
    if deployment_id is None:
        return None
    if not isinstance(deployment_id, str):
        raise bad_request("`deploymentId` must be a string")
    return state.deployment(deployment_id)


def _suffix() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(9))


def _files(state: State, items: Any) -> dict[str, str]:
    """path -> sha1 of each file; inline files are stored, unknown shas are reported."""
    if not isinstance(items, list):
        raise bad_request("`files` must be a list")
    found: dict[str, str] = {}
    missing: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            raise bad_request("Each file needs a `file` path")
        if "data" in item:
            data = _decode(item)
            sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            state.files[sha] = data
        else:
            sha = str(item.get("sha", ""))
            if sha not in state.files and sha not in missing:
                missing.append(sha)
        found[item["file"].lstrip("/")] = sha
    if missing:
        raise bad_request("Missing files", "missing_files", missing=missing)
    return found


def _unpacked(state: State, files: dict[str, str]) -> dict[str, str]:
    """An ``--archive=tgz`` upload's files (path -> sha1), or ``files`` when it is not one."""
    parts = archive.archive_parts(list(files))
    if parts is None:
        return files
    try:
        unpacked = archive.unpack([state.files[files[part]] for part in parts])
    except archive.ArchiveError as error:
        raise bad_request(str(error), "invalid_archive") from error
    found = {}
    for path, data in unpacked.items():
        sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
        state.files[sha] = data
        found[path] = sha
    return found


def _decode(item: dict[str, Any]) -> bytes:
    data = item["data"]
    if not isinstance(data, str):
        raise bad_request("Inline file `data` must be a string")
    if item.get("encoding") == "base64":
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error as error:
            raise bad_request(f"Inline file {item['file']} is not valid base64") from error
    return data.encode()


def _project_for(state: State, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    try:
        return state.project(name)
    except ApiError:
        created = projects.create(state, {"name": name, **settings})
        return state.projects[created["id"]]


def _vercel_json(state: State, files: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The uploaded vercel.json (or {}) and the build error it causes, if any."""
    sha = files.get("vercel.json")
    if sha is None:
        return {}, None
    try:
        config = json.loads(state.files[sha])
    except ValueError:
        return {}, "vercel.json is not valid JSON"
    if not isinstance(config, dict):
        return {}, "vercel.json must contain an object"
    problems = validate_config(config)
    return config, ("Invalid vercel.json: " + " ".join(problems)) if problems else None


def _output_problem(state: State, files: dict[str, str]) -> str | None:
    """The build error a ``--prebuilt`` upload's config.json causes, if any."""
    try:
        build_output.check_config(state.files[files[build_output.CONFIG]])
    except build_output.OutputError as error:
        return str(error)
    return None


def cancel(state: State, record: DeploymentRecord) -> None:
    """PATCH /v12/deployments/{id}/cancel: only QUEUED or BUILDING can be canceled."""
    current = state.state_of(record)
    if current not in ("QUEUED", "BUILDING"):
        raise bad_request(f"The deployment is {current} and can no longer be canceled")
    record.canceled_ms = state.stamp()
    record.settled = True


def assign_alias(state: State, record: DeploymentRecord, body: Any) -> dict[str, Any]:
    """POST /v2/deployments/{id}/aliases."""
    alias = body.get("alias") if isinstance(body, dict) else None
    if not isinstance(alias, str) or not alias or "/" in alias or " " in alias:
        raise bad_request("`alias` must be a hostname")
    if state.state_of(record) != "READY":
        raise bad_request("The deployment is not READY", "deployment_not_ready")
    previous = state.aliases.get(alias)
    if _held_elsewhere(state, alias, record):
        # Vercel's answer for another account's alias or a deployment URL; the CLI says
        # "is a deployment URL or it's in use by a different team". Within one account
        # an alias moves between projects.
        raise ApiError(
            403, "alias_in_use", f"The alias {alias} is in use by another account", alias=alias
        )
    created = state.point_alias(alias, record)
    return {
        "uid": created.uid,
        "alias": alias,
        "created": _iso(created.created_ms),
        "oldDeploymentId": previous.deployment_id if previous else None,
    }


def _held_elsewhere(state: State, alias: str, record: DeploymentRecord) -> bool:
    """True when ``alias`` is another deployment's URL or another account's alias."""
    if any(d.url == alias and d.id != record.id for d in state.deployments.values()):
        return True
    previous = state.aliases.get(alias)
    if previous is None or previous.project_id not in state.projects:
        return False
    holder = state.projects[previous.project_id]["accountId"]
    mine = state.projects.get(record.project_id, {}).get("accountId")
    return bool(holder != mine)


def list_aliases(state: State, record: DeploymentRecord) -> dict[str, Any]:
    """GET /v2/deployments/{id}/aliases."""
    items = [a for a in state.aliases.values() if a.deployment_id == record.id]
    return {
        "aliases": [
            {"uid": a.uid, "alias": a.alias, "created": _iso(a.created_ms), "redirect": None}
            for a in items
        ]
    }


def move_production(
    state: State, project: dict[str, Any], record: DeploymentRecord, kind: str
) -> None:
    """Promote or roll back: point production at ``record`` and record lastAliasRequest."""
    if record.project_id != project["id"]:
        raise bad_request("The deployment does not belong to this project")
    if state.state_of(record) != "READY":
        raise ApiError(409, "deployment_not_ready", "Only a READY deployment can serve production")
    current = state.production.get(project["id"])
    if kind == "rollback":
        if current is None:
            raise ApiError(409, "no_production", "The project has no production deployment")
        if record.id == current:
            raise ApiError(409, "already_current", "That deployment already serves production")
        if not record.served_production:
            raise bad_request(
                "Only a deployment that has served production can be rolled back to",
                "invalid_rollback_target",
            )
    previous = state.point_production(project, record)
    if kind == "promote" and state.broken_promotions > 0:
        state.broken_promotions -= 1
        state.health[record.id] = Health("fail", 0.0)
    request = {
        "fromDeploymentId": previous,
        "toDeploymentId": record.id,
        "jobStatus": "succeeded",
        "requestedAt": state.stamp(),
        "type": kind,
    }
    project["lastAliasRequest"] = request
    if kind == "rollback":
        project["lastRollbackTarget"] = {k: v for k, v in request.items() if k != "type"}
    project["autoAssignCustomDomains"] = kind == "promote"
    project["updatedAt"] = state.stamp()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
