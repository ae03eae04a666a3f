"""Vercel JSON -> domain types, and domain types -> request bodies.

A malformed answer becomes VercelUnavailable (the service misbehaved, not the caller).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from orchestra_ops.domain.vercel import (
    Alias,
    AliasJobStatus,
    AliasRequest,
    AliasRequestType,
    Deployment,
    DeploymentEvent,
    DeploymentId,
    DeploymentState,
    EnvTarget,
    EnvType,
    EnvVar,
    EnvVarId,
    Project,
    ProjectId,
    ProjectSettings,
)
from orchestra_ops.errors import VercelUnavailable

_SETTING_KEYS = {
    "framework": "framework",
    "build_command": "buildCommand",
    "install_command": "installCommand",
    "dev_command": "devCommand",
    "output_directory": "outputDirectory",
    "root_directory": "rootDirectory",
    "node_version": "nodeVersion",
}


def settings_body(settings: ProjectSettings | None) -> dict[str, str]:
    """The set fields of ``settings`` under Vercel's names."""
    if settings is None:
        return {}
    found = {api: getattr(settings, attr) for attr, api in _SETTING_KEYS.items()}
    return {k: v for k, v in found.items() if v is not None}


def env_body(env: EnvVar) -> dict[str, Any]:
    """The request body of one env var (the only place its value is unmasked)."""
    body: dict[str, Any] = {
        "key": env.key,
        "type": env.type.value,
        "target": [t.value for t in env.targets],
    }
    if env.value is not None and env.type is not EnvType.SYSTEM:
        body["value"] = env.value.get_secret_value()
    if env.git_branch:
        body["gitBranch"] = env.git_branch
    if env.comment:
        body["comment"] = env.comment
    return body


def _guard(what: str, build: Any, data: Any) -> Any:
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise VercelUnavailable(f"Vercel answered a malformed {what}: {error!r}") from error


def project(data: Any) -> Project:
    """A project object."""
    return _guard("project", _project, data)  # type: ignore[no-any-return]


def _project(data: dict[str, Any]) -> Project:
    production = (data.get("targets") or {}).get("production") or {}
    return Project(
        id=ProjectId(data["id"]),
        name=data["name"],
        account_id=data["accountId"],
        framework=data.get("framework"),
        node_version=data.get("nodeVersion"),
        created_at=int(data["createdAt"]),
        updated_at=int(data["updatedAt"]),
        production_deployment_id=DeploymentId(production["id"]) if production else None,
        last_alias_request=_alias_request(data.get("lastAliasRequest")),
    )


def alias_request(data: Any) -> AliasRequest | None:
    """``project.lastAliasRequest``, or None."""
    return _guard("lastAliasRequest", _alias_request, data)  # type: ignore[no-any-return]


def _alias_request(data: dict[str, Any] | None) -> AliasRequest | None:
    if not data:
        return None
    origin = data.get("fromDeploymentId")
    return AliasRequest(
        from_deployment_id=DeploymentId(origin) if origin else None,
        to_deployment_id=DeploymentId(data["toDeploymentId"]),
        job_status=AliasJobStatus(data["jobStatus"]),
        requested_at=int(data["requestedAt"]),
        type=AliasRequestType(data["type"]),
    )


def env_var(data: Any) -> EnvVar:
    """An env var item; an empty value of a non-plain var means "not revealed"."""
    return _guard("env var", _env_var, data)  # type: ignore[no-any-return]


def _env_var(data: dict[str, Any]) -> EnvVar:
    kind = EnvType(data["type"])
    raw = data.get("value")
    hidden = raw in (None, "") and kind is not EnvType.PLAIN
    targets = data.get("target") or []
    return EnvVar(
        key=data["key"],
        value=None if hidden else SecretStr(str(raw or "")),
        type=kind,
        targets=tuple(EnvTarget(t) for t in ([targets] if isinstance(targets, str) else targets)),
        id=EnvVarId(data["id"]) if data.get("id") else None,
        git_branch=data.get("gitBranch"),
        comment=data.get("comment") or "",
    )


def deployment(data: Any) -> Deployment:
    """A deployment object or a list item (``uid`` instead of ``id``)."""
    return _guard("deployment", _deployment, data)  # type: ignore[no-any-return]


def _deployment(data: dict[str, Any]) -> Deployment:
    return Deployment(
        id=DeploymentId(data.get("id") or data["uid"]),
        url=data["url"],
        name=data["name"],
        project_id=ProjectId(data["projectId"]),
        state=DeploymentState(data.get("readyState") or data["state"]),
        target=data.get("target"),
        alias_assigned=bool(data.get("aliasAssigned")),
        created_at=int(data.get("createdAt") or data["created"]),
        aliases=tuple(data.get("alias") or ()),
        error_code=data.get("errorCode"),
        error_message=data.get("errorMessage"),
        inspector_url=data.get("inspectorUrl"),
        meta={str(k): str(v) for k, v in (data.get("meta") or {}).items()},
    )


def event(data: Any) -> DeploymentEvent:
    """One build event."""
    return _guard("event", _event, data)  # type: ignore[no-any-return]


def _event(data: dict[str, Any]) -> DeploymentEvent:
    payload = data.get("payload") or {}
    info = payload.get("info") or {}
    return DeploymentEvent(
        type=data["type"],
        created=int(data["created"]),
        deployment_id=DeploymentId(payload["deploymentId"]),
        serial=str(payload.get("serial", "")),
        text=payload.get("text"),
        info={str(k): str(v) for k, v in info.items()},
    )


def alias(data: Any, deployment_id: str | None = None) -> Alias:
    """An alias answer or list item."""
    return _guard("alias", lambda d: _alias(d, deployment_id), data)  # type: ignore[no-any-return]


def _alias(data: dict[str, Any], deployment_id: str | None) -> Alias:
    old = data.get("oldDeploymentId")
    owner = data.get("deploymentId") or deployment_id
    return Alias(
        uid=data["uid"],
        alias=data["alias"],
        created=str(data.get("created", "")),
        deployment_id=DeploymentId(owner) if owner else None,
        old_deployment_id=DeploymentId(old) if old else None,
    )
