"""API handlers the Vercel CLI calls beyond what the product's adapter needs.

A mixin of :class:`~orchestra_ops.sandbox.vercel.app.Api`: build logs as JSON lines
(``/v3/now/deployments/{id}/events``), a deployment's builds (``inspect``), env pull,
custom environments, and the legacy deployment list ``alias set`` looks in.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestra_ops.sandbox.vercel import render
from orchestra_ops.sandbox.vercel.edge import served_files
from orchestra_ops.sandbox.vercel.envs import TARGETS
from orchestra_ops.sandbox.vercel.state import State, bad_request


class CliRoutes:
    """Handlers for the CLI-only endpoints."""

    state: State

    def event_lines(self, request: Request, body: Any) -> Response:
        """GET /v3/now/deployments/{id}/events?format=lines: one JSON object a line.

        The build has nothing left to stream once the answer is computed (the lifecycle is
        settled per request), so ``follow=1`` gets the lines so far and the stream ends;
        the CLI then polls the deployment, as it does when a real stream drops.
        """
        record = self.state.deployment(request.path_params["d"])
        lines = [
            {**event["payload"], "type": event["type"], "created": event["created"]}
            for event in render.events(self.state, record)
        ]
        since = request.query_params.get("since")
        if since and since.isdigit():
            lines = [line for line in lines if line["created"] > int(since)]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        return Response(text, media_type="application/x-ndjson")

    def builds(self, request: Request, body: Any) -> Response:
        """GET /v11/deployments/{id}/builds: one static build with the served files."""
        record = self.state.deployment(request.path_params["d"])
        ready_state = self.state.state_of(record)
        files = served_files(self.state, record)
        build = {
            "id": "bld_" + record.id[4:],
            "deploymentId": record.id,
            "entrypoint": ".",
            "use": "@vercel/static",
            "readyState": ready_state,
            "createdAt": record.created_ms,
            "readyStateAt": render.times(self.state, record)[1],
            "output": [
                {"type": "file", "path": path, "size": len(data)}
                for path, data in sorted(files.items())
            ],
        }
        return JSONResponse({"builds": [build]})

    def env_pull(self, request: Request, body: Any) -> Response:
        """GET /v3/env/pull/{project}/{target}[/{branch}]: ``{"env": {KEY: value}}``.

        Plain and encrypted values are given decrypted; sensitive ones are never readable,
        so they are left out. A branch-specific preview value wins over the general one.
        """
        project = self.state.project(request.path_params["p"])
        target = request.path_params.get("target", "development")
        if target not in TARGETS:
            raise bad_request(f"Unknown target {target!r}: use {', '.join(TARGETS)}")
        branch = request.path_params.get("branch")
        chosen: dict[str, dict[str, Any]] = {}
        for record in self.state.envs.get(project["id"], []):
            if target not in record["target"] or record["type"] == "sensitive":
                continue
            if record.get("gitBranch") not in (None, branch):
                continue
            if record["key"] not in chosen or record.get("gitBranch"):
                chosen[record["key"]] = record
        env = {key: record["value"] for key, record in sorted(chosen.items())}
        return JSONResponse({"env": env})

    def custom_environments(self, request: Request, body: Any) -> Response:
        """GET /projects/{p}/custom-environments: the sandbox has none beyond the standard three."""
        self.state.project(request.path_params["p"])
        return JSONResponse({"accountLimit": {"total": 0}, "environments": []})

    def legacy_deployments(self, request: Request, body: Any) -> Response:
        """GET /v3/now/deployments?app=NAME: the project's deployments, newest first."""
        name = request.query_params.get("app")
        items = [
            render.list_item(self.state, d)
            for d in self.state.deployments.values()
            if self.state.deployment_in_scope(d) and (name is None or d.name == name)
        ]
        items.sort(key=lambda item: int(item["created"]), reverse=True)
        return JSONResponse({"deployments": items})
