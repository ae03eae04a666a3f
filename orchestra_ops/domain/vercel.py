"""Vercel domain types: projects, env vars, deployments, aliases, build events.

Pure data, no I/O. Env var values are kept as ``SecretStr``; the repr of an
:class:`EnvVar` shows a value only when its type is ``plain``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

from pydantic import SecretStr

ProjectId = NewType("ProjectId", str)
DeploymentId = NewType("DeploymentId", str)
EnvVarId = NewType("EnvVarId", str)

#: A Vercel project id: ``prj_`` and 28 letters and digits. A project name is lowercase
#: (letters, digits, ``.``, ``_``, ``-``), so a name may start with ``prj_`` too.
PROJECT_ID = re.compile(r"prj_[A-Za-z0-9]{28}")


def looks_like_project_id(project_ref: str) -> bool:
    """An id's shape, or ``prj_`` with a capital letter, which no project name has."""
    return PROJECT_ID.fullmatch(project_ref) is not None or (
        project_ref.startswith("prj_") and project_ref != project_ref.lower()
    )


def missing_project_problem(project_ref: str) -> str | None:
    """Why no project may be created for a reference that found none: an id names a
    project that exists, so a missing one is a mistake, never the name of a new project."""
    if not looks_like_project_id(project_ref):
        return None
    return (
        f"no Vercel project has the id {project_ref}: give an existing project's id, or a "
        "name to create the project under (an id is never used as a name)"
    )


class EnvTarget(StrEnum):
    """Where an env var applies."""

    PRODUCTION = "production"
    PREVIEW = "preview"
    DEVELOPMENT = "development"


class EnvType(StrEnum):
    """How Vercel stores an env var; ``secret`` only appears in responses (legacy)."""

    PLAIN = "plain"
    ENCRYPTED = "encrypted"
    SENSITIVE = "sensitive"
    SYSTEM = "system"
    SECRET = "secret"  # noqa: S105 - a type name, not a credential


class DeploymentState(StrEnum):
    """A deployment's ``readyState``."""

    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    BUILDING = "BUILDING"
    READY = "READY"
    ERROR = "ERROR"
    CANCELED = "CANCELED"
    BLOCKED = "BLOCKED"
    DELETED = "DELETED"

    @property
    def terminal(self) -> bool:
        """True once the deployment will not change state any more."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        DeploymentState.READY,
        DeploymentState.ERROR,
        DeploymentState.CANCELED,
        DeploymentState.DELETED,
    }
)


class AliasJobStatus(StrEnum):
    """Progress of a promote or rollback (``project.lastAliasRequest.jobStatus``)."""

    PENDING = "pending"
    IN_PROGRESS = "in-progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class AliasRequestType(StrEnum):
    """What moved the production alias last."""

    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class ProjectSettings:
    """Build settings of a project or of one deployment; None means "not set"."""

    framework: str | None = None
    build_command: str | None = None
    install_command: str | None = None
    dev_command: str | None = None
    output_directory: str | None = None
    root_directory: str | None = None
    node_version: str | None = None


@dataclass(frozen=True)
class AliasRequest:
    """The last promote or rollback of a project."""

    from_deployment_id: DeploymentId | None
    to_deployment_id: DeploymentId
    job_status: AliasJobStatus
    requested_at: int
    type: AliasRequestType


@dataclass(frozen=True)
class Project:
    """A Vercel project."""

    id: ProjectId
    name: str
    account_id: str
    framework: str | None
    node_version: str | None
    created_at: int
    updated_at: int
    production_deployment_id: DeploymentId | None = None
    last_alias_request: AliasRequest | None = None


@dataclass(frozen=True)
class EnvVar:
    """One env var; ``value`` may be a secret and is masked in repr unless plain.

    ``value`` is None when Vercel did not reveal it (sensitive, or encrypted without
    ``decrypt``).
    """

    key: str
    value: SecretStr | None
    type: EnvType
    targets: tuple[EnvTarget, ...]
    id: EnvVarId | None = None
    git_branch: str | None = None
    comment: str = ""

    def __repr__(self) -> str:
        if self.value is None:
            shown = "None"
        elif self.type is EnvType.PLAIN:
            shown = repr(self.value.get_secret_value())
        else:
            shown = "'**********'"
        targets = [t.value for t in self.targets]
        return (
            f"EnvVar(key={self.key!r}, value={shown}, type={self.type.value!r}, "
            f"targets={targets!r}, id={self.id!r}, git_branch={self.git_branch!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class FileRef:
    """An uploaded file as a deployment refers to it."""

    file: str
    sha: str
    size: int

    @classmethod
    def of(cls, path: str, data: bytes) -> FileRef:
        """The reference of ``data`` stored at ``path`` (sha1 hex, as Vercel expects)."""
        return cls(
            file=path, sha=hashlib.sha1(data, usedforsecurity=False).hexdigest(), size=len(data)
        )


@dataclass(frozen=True)
class Deployment:
    """A Vercel deployment; ``url`` is a bare hostname."""

    id: DeploymentId
    url: str
    name: str
    project_id: ProjectId
    state: DeploymentState
    target: str | None
    alias_assigned: bool
    created_at: int
    aliases: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    inspector_url: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Alias:
    """A hostname pointing at a deployment."""

    uid: str
    alias: str
    created: str
    deployment_id: DeploymentId | None = None
    old_deployment_id: DeploymentId | None = None


@dataclass(frozen=True)
class DeploymentEvent:
    """One build log event of a deployment."""

    type: str
    created: int
    deployment_id: DeploymentId
    serial: str
    text: str | None = None
    info: dict[str, str] = field(default_factory=dict, hash=False)
