"""The Vercel port: what flows need from Vercel, in domain types only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from orchestra_ops.domain.vercel import (
    Alias,
    AliasRequest,
    Deployment,
    DeploymentEvent,
    DeploymentId,
    DeploymentState,
    EnvVar,
    EnvVarId,
    Project,
    ProjectId,
    ProjectSettings,
)


class VercelApi(Protocol):
    """Projects, env vars, deployments, aliases, promotion and rollback."""

    def create_project(self, name: str, settings: ProjectSettings | None = None) -> Project:
        """Create a project."""
        ...

    def get_project(self, id_or_name: str) -> Project:
        """Fetch a project by id or name."""
        ...

    def list_projects(self) -> list[Project]:
        """Every project (all pages)."""
        ...

    def update_project(self, id_or_name: str, settings: ProjectSettings) -> Project:
        """Change the build settings that are set in ``settings``."""
        ...

    def list_env(self, project_id: ProjectId, *, decrypt: bool = False) -> list[EnvVar]:
        """A project's env vars; values of sensitive vars are never revealed."""
        ...

    def upsert_env(self, project_id: ProjectId, env: Sequence[EnvVar]) -> list[EnvVar]:
        """Create or overwrite env vars (by key and target)."""
        ...

    def delete_env(self, project_id: ProjectId, env_id: EnvVarId) -> None:
        """Delete one env var."""
        ...

    def upload_file(self, data: bytes) -> str:
        """Upload file content; returns its sha1 hex digest."""
        ...

    def create_deployment(
        self,
        name: str,
        files: Mapping[str, bytes],
        *,
        target: str | None = None,
        project_settings: ProjectSettings | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Deployment:
        """Deploy ``files`` (path -> content), uploading whatever Vercel lacks."""
        ...

    def get_deployment(self, id_or_url: str) -> Deployment:
        """Fetch a deployment by id or hostname."""
        ...

    def list_deployments(
        self,
        *,
        project_id: ProjectId | None = None,
        target: str | None = None,
        state: DeploymentState | None = None,
    ) -> list[Deployment]:
        """Deployments, newest first (all pages)."""
        ...

    def deployment_events(self, deployment_id: DeploymentId) -> list[DeploymentEvent]:
        """The build log of a deployment."""
        ...

    def cancel_deployment(self, deployment_id: DeploymentId) -> Deployment:
        """Cancel a queued or building deployment."""
        ...

    def assign_alias(self, deployment_id: DeploymentId, alias: str) -> Alias:
        """Point ``alias`` at a deployment."""
        ...

    def list_aliases(self, deployment_id: DeploymentId) -> list[Alias]:
        """The aliases of a deployment."""
        ...

    def promote(self, project_id: ProjectId, deployment_id: DeploymentId) -> None:
        """Point the production domains at ``deployment_id``."""
        ...

    def rollback(
        self, project_id: ProjectId, deployment_id: DeploymentId, description: str = ""
    ) -> None:
        """Instant rollback: point production back at an earlier deployment."""
        ...

    def last_alias_request(self, project_id: ProjectId) -> AliasRequest | None:
        """The last promote or rollback of a project, as ``project.lastAliasRequest``."""
        ...
