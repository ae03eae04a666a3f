"""API handlers for files, deployments, aliases, promotion and rollback.

A mixin of :class:`~orchestra_ops.sandbox.vercel.app.Api`: each handler runs under the
state lock with the request and its parsed body.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestra_ops.sandbox.vercel import aliases, deployments, render
from orchestra_ops.sandbox.vercel.state import State, bad_request, int_param, limit_param


class DeploymentRoutes:
    """Handlers of the deployment-side API."""

    state: State

    def upload_file(self, request: Request, body: Any) -> Response:
        """POST /v2/files: the raw body must match its sha1 digest header."""
        digest = request.headers.get("x-vercel-digest") or request.headers.get("x-now-digest")
        if not digest:
            raise bad_request("Missing `x-vercel-digest` header", "missing_digest")
        actual = hashlib.sha1(body, usedforsecurity=False).hexdigest()
        if digest.lower() != actual:
            raise bad_request(
                f"The digest {digest} does not match the body's sha1 {actual}", "invalid_digest"
            )
        self.state.files[actual] = body
        return JSONResponse({})

    def create_deployment(self, request: Request, body: Any) -> Response:
        """POST /v13/deployments."""
        record = deployments.create(self.state, body)
        return JSONResponse(render.deployment(self.state, record))

    def get_deployment(self, request: Request, body: Any) -> Response:
        """GET /v13/deployments/{idOrUrl}."""
        record = self.state.deployment(request.path_params["d"])
        return JSONResponse(render.deployment(self.state, record))

    def list_deployments(self, request: Request, body: Any) -> Response:
        """GET /v6|v7/deployments?projectId&target&state&limit&until."""
        query = request.query_params
        visible = filter(self.state.deployment_in_scope, self.state.deployments.values())
        items = sorted(visible, key=lambda d: d.created_ms, reverse=True)
        if query.get("projectId"):
            project = self.state.project(query["projectId"])
            items = [d for d in items if d.project_id == project["id"]]
        if query.get("target"):
            wanted = None if query["target"] == "preview" else query["target"]
            items = [d for d in items if d.target == wanted]
        if query.get("state"):
            states = set(query["state"].upper().split(","))
            items = [d for d in items if self.state.state_of(d) in states]
        until = int_param(query.get("until"))
        if until is not None:
            items = [d for d in items if d.created_ms < until]
        limit = limit_param(query.get("limit"))
        page = items[:limit]
        next_cursor = page[-1].created_ms if len(items) > limit and page else None
        return JSONResponse(
            {
                "deployments": [render.list_item(self.state, d) for d in page],
                "pagination": {"count": len(page), "next": next_cursor, "prev": None},
            }
        )

    def events(self, request: Request, body: Any) -> Response:
        """GET /v3/deployments/{idOrUrl}/events: a JSON array."""
        record = self.state.deployment(request.path_params["d"])
        return JSONResponse(render.events(self.state, record))

    def cancel(self, request: Request, body: Any) -> Response:
        """PATCH /v12/deployments/{id}/cancel."""
        record = self.state.deployment(request.path_params["d"])
        deployments.cancel(self.state, record)
        return JSONResponse(render.deployment(self.state, record))

    def add_alias(self, request: Request, body: Any) -> Response:
        """POST /v2/deployments/{id}/aliases."""
        record = self.state.deployment(request.path_params["d"])
        return JSONResponse(deployments.assign_alias(self.state, record, body))

    def get_aliases(self, request: Request, body: Any) -> Response:
        """GET /v2/deployments/{id}/aliases."""
        record = self.state.deployment(request.path_params["d"])
        return JSONResponse(deployments.list_aliases(self.state, record))

    def delete_deployment(self, request: Request, body: Any) -> Response:
        """DELETE /v13/deployments/{id} (SDK), /now/deployments/{id} (``vercel remove``).

        ``vercel remove`` sends no teamId: an id is unique, and the token's user belongs
        to the team, so without a team the id is looked up in every scope the token has.
        """
        wanted = request.path_params["d"]
        team_given = {"teamId", "slug"} & set(request.query_params)
        record = self.state.deployments.get(wanted) if not team_given else None
        record = record or self.state.deployment(wanted)
        return JSONResponse(aliases.remove_deployment(self.state, record))

    def list_all_aliases(self, request: Request, body: Any) -> Response:
        """GET /v3/now/aliases, /v4/aliases?limit&until."""
        query = request.query_params
        limit = limit_param(query.get("limit"))
        return JSONResponse(aliases.listing(self.state, limit, int_param(query.get("until"))))

    def get_alias(self, request: Request, body: Any) -> Response:
        """GET /now/aliases/{aliasOrId}, /v4/aliases/{aliasOrId}."""
        found = aliases.find(self.state, request.path_params["a"])
        return JSONResponse(aliases.render(self.state, found))

    def delete_alias(self, request: Request, body: Any) -> Response:
        """DELETE /now/aliases/{aliasOrId}, /v2/aliases/{aliasOrId}."""
        found = aliases.find(self.state, request.path_params["a"])
        return JSONResponse(aliases.remove(self.state, found))

    def promote(self, request: Request, body: Any) -> Response:
        """POST /v10/projects/{p}/promote/{dep}: 201, empty body."""
        return self._move(request, "promote")

    def rollback(self, request: Request, body: Any) -> Response:
        """POST /v1|v9/projects/{p}/rollback/{dep}: 201, empty body."""
        return self._move(request, "rollback")

    def _move(self, request: Request, kind: str) -> Response:
        project = self._project(request)
        record = self.state.deployment(request.path_params["d"])
        deployments.move_production(self.state, project, record, kind)
        return Response(status_code=201)

    def _project(self, request: Request) -> dict[str, Any]:
        return self.state.project(request.path_params["p"])
