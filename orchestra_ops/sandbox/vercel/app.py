"""The Vercel API emulator's HTTP layer: auth, team check, JSON envelopes, routes.

Every handler runs synchronously under the state lock after ``settle()``, so the
lifecycle is computed once per request and Python-side controls see consistent state.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orchestra_ops.sandbox.vercel import envs, identity, projects
from orchestra_ops.sandbox.vercel.cli_routes import CliRoutes
from orchestra_ops.sandbox.vercel.deployment_routes import DeploymentRoutes
from orchestra_ops.sandbox.vercel.state import ApiError, State, bad_request, int_param, limit_param

Handler = Callable[[Request, Any], Response]
_DOMAIN_ROUTE = re.compile(r"^/(v\d+/)?(now/)?(domains|registrar|certs|dns)(/|$)|/domains(/|$)")
_NO_BODY = object()


class Api(DeploymentRoutes, CliRoutes):
    """Routes over a :class:`State`; ``team_queries`` records (method, path, teamId)."""

    def __init__(self, state: State, token: str) -> None:
        self.state = state
        self._token = token
        self.team_queries: list[tuple[str, str, str | None]] = []

    def _scope(self, request: Request) -> str | JSONResponse:
        """The owner the request acts for, or the 403 answer (bad token, foreign team)."""
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(
            presented.encode(), self._token.encode()
        )
        team = request.query_params.get("teamId")
        with self.state.lock:
            self.team_queries.append((request.method, request.url.path, team))
        forbidden = JSONResponse(ApiError(403, "forbidden", "Not authorized").body(), 403)
        if not valid:
            return forbidden
        try:
            return identity.scope_of(self.state, team, request.query_params.get("slug"))
        except ApiError:
            return forbidden

    def endpoint(
        self, handler: Handler, body: str = "none"
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap ``handler`` with auth, scope, body parsing (none / json / raw) and errors."""

        async def run(request: Request) -> Response:
            scope = self._scope(request)
            if isinstance(scope, Response):
                return scope
            payload: Any = _NO_BODY
            try:
                if body == "raw":
                    payload = await request.body()
                elif body == "json":
                    payload = _parse_json(await request.body())
                with self.state.lock:
                    self.state.settle()
                    self.state.scope = scope
                    try:
                        return handler(request, payload)
                    finally:
                        self.state.scope = None
            except ApiError as error:
                return JSONResponse(error.body(), error.status)

        return run

    def routes(self) -> list[Route]:
        """Every API route of the emulator."""
        e = self.endpoint
        return [
            Route("/v2/user", e(self.get_user), methods=["GET"]),
            Route("/v1/teams", e(self.list_teams), methods=["GET"]),
            Route("/v2/teams", e(self.list_teams), methods=["GET"]),
            Route("/teams/{t}", e(self.get_team), methods=["GET"]),
            Route("/v2/teams/{t}", e(self.get_team), methods=["GET"]),
            Route("/v11/projects", e(self.create_project, "json"), methods=["POST"]),
            Route("/v1/projects", e(self.create_project, "json"), methods=["POST"]),
            Route("/v10/projects", e(self.list_projects), methods=["GET"]),
            Route("/v9/projects", e(self.list_projects), methods=["GET"]),
            Route("/v9/projects/{p}", e(self.get_project), methods=["GET"]),
            Route("/v9/projects/{p}", e(self.update_project, "json"), methods=["PATCH"]),
            Route("/v9/projects/{p}", e(self.delete_project), methods=["DELETE"]),
            Route("/v2/projects/{p}", e(self.delete_project), methods=["DELETE"]),
            Route("/v10/projects/{p}/env", e(self.create_env, "json"), methods=["POST"]),
            Route("/v10/projects/{p}/env", e(self.list_env), methods=["GET"]),
            Route("/v9/projects/{p}/env/{env}", e(self.update_env, "json"), methods=["PATCH"]),
            Route("/v9/projects/{p}/env/{env}", e(self.delete_env), methods=["DELETE"]),
            Route("/v10/projects/{p}/env/{env}", e(self.delete_env), methods=["DELETE"]),
            Route("/v1/projects/{p}/env/{env}", e(self.get_env), methods=["GET"]),
            Route("/v2/files", e(self.upload_file, "raw"), methods=["POST"]),
            Route("/v13/deployments", e(self.create_deployment, "json"), methods=["POST"]),
            Route("/v13/deployments/{d}", e(self.get_deployment), methods=["GET"]),
            Route("/v13/deployments/{d}", e(self.delete_deployment), methods=["DELETE"]),
            Route("/now/deployments/{d}", e(self.delete_deployment), methods=["DELETE"]),
            Route("/v6/deployments", e(self.list_deployments), methods=["GET"]),
            Route("/v7/deployments", e(self.list_deployments), methods=["GET"]),
            Route("/v3/deployments/{d}/events", e(self.events), methods=["GET"]),
            Route("/v3/now/deployments/{d}/events", e(self.event_lines), methods=["GET"]),
            Route("/v3/now/deployments", e(self.legacy_deployments), methods=["GET"]),
            Route("/v11/deployments/{d}/builds", e(self.builds), methods=["GET"]),
            Route("/v3/env/pull/{p}", e(self.env_pull), methods=["GET"]),
            Route("/v3/env/pull/{p}/{target}", e(self.env_pull), methods=["GET"]),
            Route("/v3/env/pull/{p}/{target}/{branch}", e(self.env_pull), methods=["GET"]),
            Route("/projects/{p}/custom-environments", e(self.custom_environments)),
            Route("/v9/projects/{p}/custom-environments", e(self.custom_environments)),
            Route("/v12/deployments/{d}/cancel", e(self.cancel), methods=["PATCH"]),
            Route("/v2/deployments/{d}/aliases", e(self.add_alias, "json"), methods=["POST"]),
            Route("/now/deployments/{d}/aliases", e(self.add_alias, "json"), methods=["POST"]),
            Route("/v2/deployments/{d}/aliases", e(self.get_aliases), methods=["GET"]),
            Route("/now/deployments/{d}/aliases", e(self.get_aliases), methods=["GET"]),
            Route("/v3/now/aliases", e(self.list_all_aliases), methods=["GET"]),
            Route("/v4/aliases", e(self.list_all_aliases), methods=["GET"]),
            Route("/now/aliases/{a}", e(self.get_alias), methods=["GET"]),
            Route("/v4/aliases/{a}", e(self.get_alias), methods=["GET"]),
            Route("/now/aliases/{a}", e(self.delete_alias), methods=["DELETE"]),
            Route("/v2/aliases/{a}", e(self.delete_alias), methods=["DELETE"]),
            Route("/v10/projects/{p}/promote/{d}", e(self.promote), methods=["POST"]),
            Route("/v1/projects/{p}/rollback/{d}", e(self.rollback), methods=["POST"]),
            Route("/v9/projects/{p}/rollback/{d}", e(self.rollback), methods=["POST"]),
            # Last: a name with slashes (``vercel remove https://…`` tries it as a project).
            Route("/v9/projects/{p:path}", e(self.get_project), methods=["GET"]),
        ]

    # --- identity ----------------------------------------------------------------------

    def get_user(self, request: Request, body: Any) -> Response:
        """GET /v2/user."""
        return JSONResponse(identity.user(self.state))

    def list_teams(self, request: Request, body: Any) -> Response:
        """GET /v1/teams, /v2/teams."""
        return JSONResponse(identity.teams(self.state))

    def get_team(self, request: Request, body: Any) -> Response:
        """GET /teams/{teamId}, /v2/teams/{teamId}."""
        return JSONResponse(identity.team(self.state, request.path_params["t"]))

    # --- projects and env vars ----------------------------------------------------------

    def create_project(self, request: Request, body: Any) -> Response:
        """POST /v11/projects."""
        return JSONResponse(projects.create(self.state, _object(body)))

    def list_projects(self, request: Request, body: Any) -> Response:
        """GET /v10/projects?limit&from&search."""
        query = request.query_params
        listing = projects.listing(
            self.state,
            limit_param(query.get("limit")),
            int_param(query.get("from")),
            query.get("search"),
        )
        return JSONResponse(listing)

    def get_project(self, request: Request, body: Any) -> Response:
        """GET /v9/projects/{idOrName}."""
        return JSONResponse(projects.render(self.state, self._project(request)))

    def update_project(self, request: Request, body: Any) -> Response:
        """PATCH /v9/projects/{idOrName}."""
        updated = projects.update(self.state, self._project(request), _object(body))
        return JSONResponse(updated)

    def delete_project(self, request: Request, body: Any) -> Response:
        """DELETE /v9/projects/{idOrName}: 204."""
        self.state.remove_project(self._project(request))
        return Response(status_code=204)

    def create_env(self, request: Request, body: Any) -> Response:
        """POST /v10/projects/{p}/env[?upsert=true]: 201 {created, failed}."""
        upsert = request.query_params.get("upsert") == "true"
        created, failed = envs.create(self.state, self._project(request), body, upsert=upsert)
        single = not isinstance(body, list)
        if single and failed:
            raise ApiError(400, **failed[0]["error"])
        answer = {
            "created": (created[0] if created else {}) if single else created,
            "failed": failed,
        }
        return JSONResponse(answer, 201)

    def list_env(self, request: Request, body: Any) -> Response:
        """GET /v10/projects/{p}/env[?decrypt=true]."""
        project = self._project(request)
        decrypt = request.query_params.get("decrypt") == "true"
        branch = request.query_params.get("gitBranch")
        items = [
            envs.render(e, decrypt=decrypt)
            for e in self.state.envs.get(project["id"], [])
            if branch is None or e.get("gitBranch") in (None, branch)
        ]
        pagination = {"count": len(items), "next": None, "prev": None}
        return JSONResponse({"envs": items, "pagination": pagination})

    def get_env(self, request: Request, body: Any) -> Response:
        """GET /v1/projects/{p}/env/{id}: encrypted values decrypted, sensitive never."""
        record = envs.find(self.state, self._project(request), request.path_params["env"])
        return JSONResponse(envs.render(record, decrypt=True))

    def update_env(self, request: Request, body: Any) -> Response:
        """PATCH /v9/projects/{p}/env/{id}."""
        env_id = request.path_params["env"]
        return JSONResponse(envs.update(self.state, self._project(request), env_id, body))

    def delete_env(self, request: Request, body: Any) -> Response:
        """DELETE /v9/projects/{p}/env/{id}."""
        env_id = request.path_params["env"]
        return JSONResponse(envs.delete(self.state, self._project(request), env_id))

    def _project(self, request: Request) -> dict[str, Any]:
        return self.state.project(request.path_params["p"])


def build_api(api: Api) -> Starlette:
    """The Starlette app; unknown routes and methods answer in Vercel's envelope."""

    async def http_error(request: Request, error: Exception) -> Response:
        status = error.status_code if isinstance(error, HTTPException) else 500
        if status == 405:
            return JSONResponse(ApiError(405, "method_unknown", "Method unknown").body(), 405)
        if status == 404:
            message = "The route was not found"
            if _DOMAIN_ROUTE.search(request.url.path):
                message = (
                    "The Vercel sandbox does not emulate domains, DNS, certificates or the "
                    f"registrar ({request.method} {request.url.path}); use the "
                    "<project>.vercel.app aliases"
                )
            return JSONResponse(ApiError(404, "not_found", message).body(), 404)
        return JSONResponse(ApiError(status, "bad_request", "Request failed").body(), status)

    return Starlette(routes=api.routes(), exception_handlers={HTTPException: http_error})


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as error:
        raise bad_request("The body is not valid JSON") from error


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("The body must be a JSON object")
    return body
