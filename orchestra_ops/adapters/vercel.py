"""The Vercel adapter: :class:`VercelClient` implements the ``VercelApi`` port over httpx.

Plumbing (auth, ``teamId``, Retry-After, error translation) lives in ``_vercel_http``;
JSON <-> domain conversion in ``_vercel_parse``. Lists follow ``pagination.next``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from orchestra_ops.adapters import _vercel_parse as parse
from orchestra_ops.adapters._http import ClosesOnExit
from orchestra_ops.adapters._vercel_http import Params, VercelHttp, error_code, raise_for
from orchestra_ops.domain.vercel import (
    Alias,
    AliasRequest,
    Deployment,
    DeploymentEvent,
    DeploymentId,
    DeploymentState,
    EnvVar,
    EnvVarId,
    FileRef,
    Project,
    ProjectId,
    ProjectSettings,
)
from orchestra_ops.errors import VercelConflict, VercelInvalidRequest

_MAX_PAGES = 1000
_PAGE_SIZE = 100


def _seg(value: str) -> str:
    """One path segment, escaped (ids and names never contain '/', but be safe)."""
    return quote(value, safe="")


class VercelClient(ClosesOnExit):
    """Talks to the Vercel REST API (or the sandbox emulator) for one token and team.

    ``sleep`` is how a Retry-After wait is spent (tests pass a recorder); ``page_size``
    is the ``limit`` of list calls.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        team_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        max_retry_after_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = _PAGE_SIZE,
        upload_concurrency: int = 8,
    ) -> None:
        self._page_size = page_size
        self._upload_concurrency = upload_concurrency
        self._http = VercelHttp(
            base_url,
            token,
            team_id=team_id,
            transport=transport,
            timeout_s=timeout_s,
            max_retry_after_s=max_retry_after_s,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"VercelClient({self._http!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    # --- projects -----------------------------------------------------------------------

    def create_project(self, name: str, settings: ProjectSettings | None = None) -> Project:
        """POST /v11/projects."""
        body = {"name": name, **parse.settings_body(settings)}
        return parse.project(self._http.call("POST", "/v11/projects", json=body))

    def get_project(self, id_or_name: str) -> Project:
        """GET /v9/projects/{idOrName}."""
        return parse.project(self._http.call("GET", f"/v9/projects/{_seg(id_or_name)}"))

    def list_projects(self) -> list[Project]:
        """GET /v10/projects, every page (cursor passed back as ``from``)."""
        items = self._pages("/v10/projects", "projects", "from", {})
        return [parse.project(item) for item in items]

    def update_project(self, id_or_name: str, settings: ProjectSettings) -> Project:
        """PATCH /v9/projects/{idOrName} with the set fields of ``settings``."""
        body = parse.settings_body(settings)
        path = f"/v9/projects/{_seg(id_or_name)}"
        return parse.project(self._http.call("PATCH", path, json=body))

    def last_alias_request(self, project_id: ProjectId) -> AliasRequest | None:
        """``lastAliasRequest`` of GET /v9/projects/{id}."""
        data = self._http.call("GET", f"/v9/projects/{_seg(project_id)}")
        return parse.alias_request(data.get("lastAliasRequest") if isinstance(data, dict) else None)

    # --- env vars -----------------------------------------------------------------------

    def list_env(self, project_id: ProjectId, *, decrypt: bool = False) -> list[EnvVar]:
        """GET /v10/projects/{p}/env; sensitive values come back as None."""
        params = {"decrypt": "true"} if decrypt else {}
        data = self._http.call("GET", f"/v10/projects/{_seg(project_id)}/env", params=params)
        return [parse.env_var(item) for item in (data or {}).get("envs", [])]

    def upsert_env(self, project_id: ProjectId, env: Sequence[EnvVar]) -> list[EnvVar]:
        """POST /v10/projects/{p}/env?upsert=true with an array; failures raise VercelConflict."""
        body = [parse.env_body(item) for item in env]
        path = f"/v10/projects/{_seg(project_id)}/env"
        data = self._http.call("POST", path, params={"upsert": "true"}, json=body) or {}
        failed = data.get("failed") or []
        if failed:
            keys = sorted({str((f.get("error") or {}).get("key", "?")) for f in failed})
            codes = sorted({str((f.get("error") or {}).get("code", "?")) for f in failed})
            raise VercelConflict(
                f"env vars not written for {', '.join(keys)} ({', '.join(codes)}); "
                "check their keys and targets"
            )
        created = data.get("created") or []
        return [
            parse.env_var(item) for item in (created if isinstance(created, list) else [created])
        ]

    def delete_env(self, project_id: ProjectId, env_id: EnvVarId) -> None:
        """DELETE /v9/projects/{p}/env/{id}."""
        self._http.call("DELETE", f"/v9/projects/{_seg(project_id)}/env/{_seg(env_id)}")

    # --- files and deployments ----------------------------------------------------------

    def upload_file(self, data: bytes) -> str:
        """POST /v2/files; returns the sha1 hex digest Vercel files it under."""
        sha = FileRef.of("", data).sha
        headers = {
            "Content-Type": "application/octet-stream",
            "x-vercel-digest": sha,
            "x-now-size": str(len(data)),
        }
        self._http.call("POST", "/v2/files", content=data, headers=headers)
        return sha

    def create_deployment(
        self,
        name: str,
        files: Mapping[str, bytes],
        *,
        target: str | None = None,
        project_settings: ProjectSettings | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Deployment:
        """POST /v13/deployments; on 400 missing_files, upload those and resend as is."""
        refs = {path: FileRef.of(path, data) for path, data in files.items()}
        body: dict[str, Any] = {
            "name": name,
            "files": [{"file": r.file, "sha": r.sha, "size": r.size} for r in refs.values()],
        }
        if target is not None:
            body["target"] = target
        if project_settings is not None:
            body["projectSettings"] = parse.settings_body(project_settings)
        if meta:
            body["meta"] = dict(meta)
        response = self._http.send("POST", "/v13/deployments", json=body)
        if response.status_code == 400 and error_code(response)[0] == "missing_files":
            by_sha = {ref.sha: files[path] for path, ref in refs.items()}
            missing = list(dict.fromkeys(response.json()["error"].get("missing", [])))
            unknown = [sha for sha in missing if sha not in by_sha]
            if unknown:
                raise VercelInvalidRequest(f"Vercel asked for files we did not send: {unknown}")
            with ThreadPoolExecutor(max_workers=self._upload_concurrency) as pool:
                # list() re-raises the first upload error here, in this thread
                list(pool.map(lambda sha: self.upload_file(by_sha[sha]), missing))
            response = self._http.send("POST", "/v13/deployments", json=body)
        raise_for(response, "POST /v13/deployments")
        return parse.deployment(response.json())

    def get_deployment(self, id_or_url: str) -> Deployment:
        """GET /v13/deployments/{idOrUrl}."""
        return parse.deployment(self._http.call("GET", f"/v13/deployments/{_seg(id_or_url)}"))

    def list_deployments(
        self,
        *,
        project_id: ProjectId | None = None,
        target: str | None = None,
        state: DeploymentState | None = None,
    ) -> list[Deployment]:
        """GET /v6/deployments, every page (cursor passed back as ``until``)."""
        params: dict[str, str | int] = {}
        if project_id:
            params["projectId"] = project_id
        if target:
            params["target"] = target
        if state is not None:
            params["state"] = state.value
        items = self._pages("/v6/deployments", "deployments", "until", params)
        return [parse.deployment(item) for item in items]

    def deployment_events(self, deployment_id: DeploymentId) -> list[DeploymentEvent]:
        """GET /v3/deployments/{id}/events (not following)."""
        data = self._http.call("GET", f"/v3/deployments/{_seg(deployment_id)}/events")
        return [parse.event(item) for item in data or []]

    def cancel_deployment(self, deployment_id: DeploymentId) -> Deployment:
        """PATCH /v12/deployments/{id}/cancel."""
        path = f"/v12/deployments/{_seg(deployment_id)}/cancel"
        return parse.deployment(self._http.call("PATCH", path))

    # --- aliases, promote, rollback -----------------------------------------------------

    def assign_alias(self, deployment_id: DeploymentId, alias: str) -> Alias:
        """POST /v2/deployments/{id}/aliases."""
        path = f"/v2/deployments/{_seg(deployment_id)}/aliases"
        return parse.alias(self._http.call("POST", path, json={"alias": alias}), deployment_id)

    def list_aliases(self, deployment_id: DeploymentId) -> list[Alias]:
        """GET /v2/deployments/{id}/aliases."""
        data = self._http.call("GET", f"/v2/deployments/{_seg(deployment_id)}/aliases")
        return [parse.alias(item, deployment_id) for item in (data or {}).get("aliases", [])]

    def promote(self, project_id: ProjectId, deployment_id: DeploymentId) -> None:
        """POST /v10/projects/{p}/promote/{dep} (201/202, empty body)."""
        self._http.call("POST", f"/v10/projects/{_seg(project_id)}/promote/{_seg(deployment_id)}")

    def rollback(
        self, project_id: ProjectId, deployment_id: DeploymentId, description: str = ""
    ) -> None:
        """POST /v1/projects/{p}/rollback/{dep} (201, empty body)."""
        params = {"description": description} if description else None
        path = f"/v1/projects/{_seg(project_id)}/rollback/{_seg(deployment_id)}"
        self._http.call("POST", path, params=params)

    # --- helpers ------------------------------------------------------------------------

    def _pages(self, path: str, key: str, cursor_name: str, params: Params) -> Iterator[Any]:
        query: dict[str, str | int] = {**params, "limit": self._page_size}
        for _ in range(_MAX_PAGES):
            data = self._http.call("GET", path, params=query) or {}
            yield from data.get(key, [])
            cursor = (data.get("pagination") or {}).get("next")
            if cursor is None or query.get(cursor_name) == cursor:
                return
            query[cursor_name] = cursor
