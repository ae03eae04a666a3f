"""``LambdaCloudEmulator``: the state, the API app, the health servers and the controls."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from orchestra_ops.adapters._http import tls_context
from orchestra_ops.sandbox.faults import FaultMiddleware, FaultPlan, RequestLog
from orchestra_ops.sandbox.lambda_cloud.app import build_app
from orchestra_ops.sandbox.lambda_cloud.envelope import error_body_for_status
from orchestra_ops.sandbox.lambda_cloud.instances_net import HEALTH_MODES, HealthServers
from orchestra_ops.sandbox.lambda_cloud.state import LambdaState

DEFAULT_API_KEY = "sandbox-lambda-key"
HEALTH_PROXY_PATH = "/sandbox/instances/{instance_id}/health"
"""Where the API app relays an instance's health endpoint (sandbox instances share one IP)."""


class LambdaCloudEmulator:
    """An in-memory Lambda Cloud account served over loopback, with fault injection.

    Serve ``app()`` with :func:`~orchestra_ops.sandbox.server.serve_in_thread`; mount
    ``extra_admin_routes()`` with the admin app. Call ``close()`` to stop the instances'
    health servers.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        boot_delay_s: float = 0.0,
        launch_rate_limit_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        capacity: dict[str, list[str]] | None = None,
    ) -> None:
        self.plan = FaultPlan()
        self.log = RequestLog()
        self._api_key = api_key
        self.state = LambdaState(
            clock=clock,
            boot_delay_s=boot_delay_s,
            launch_rate_limit_s=launch_rate_limit_s,
            capacity=capacity,
        )
        self._net = HealthServers()

    def __repr__(self) -> str:
        return f"LambdaCloudEmulator(instances={len(self.state.instances)})"

    def app(self) -> ASGIApp:
        """The API app behind the fault middleware, and the instances' health relay.

        On Lambda each instance has its own IP and serves the API port; in the sandbox all
        share 127.0.0.1, so ``HEALTH_PROXY_PATH`` relays to the instance's own server
        (not subject to API faults: an instance's health is steered with ``set_health``).
        """
        api = FaultMiddleware(
            build_app(self.state, self._net, self._api_key),
            plan=self.plan,
            log=self.log,
            error_body=error_body_for_status,
        )
        relay = Route(HEALTH_PROXY_PATH, self._relay_health, methods=["GET"])
        return Starlette(routes=[relay, Mount("/", app=api)])

    async def _relay_health(self, request: Request) -> Response:
        url = self.instance_health_url(request.path_params["instance_id"])
        if url is None:
            return JSONResponse({"error": "instance is not active"}, status_code=502)
        try:
            async with httpx.AsyncClient(timeout=60.0, verify=tls_context()) as client:
                answer = await client.get(url)
        except httpx.HTTPError as error:
            return JSONResponse({"error": type(error).__name__}, status_code=502)
        return Response(answer.content, answer.status_code, media_type="application/json")

    # --- Python controls -----------------------------------------------------------------

    def set_capacity(self, instance_type: str, regions: list[str]) -> None:
        """List capacity for ``instance_type`` in exactly ``regions`` (empty: none)."""
        self.state.set_capacity(instance_type, regions)

    def never_activate(self, target: str) -> None:
        """Keep an instance (by id), or every later instance of a type, booting forever."""
        self.state.never_activate(target)
        self._sync()

    def set_health(self, instance_id: str, mode: str) -> None:
        """Make an instance's health endpoint answer ok, fail (503), hang or recover."""
        if instance_id not in self.state.instances:
            raise ValueError(f"no instance {instance_id!r}")
        if mode not in HEALTH_MODES:
            raise ValueError(f"health mode must be one of {HEALTH_MODES}")
        self._net.set_mode(instance_id, mode)  # type: ignore[arg-type]

    def set_new_instance_health(self, mode: str) -> None:
        """How instances that become active from now on answer their health checks."""
        if mode not in HEALTH_MODES:
            raise ValueError(f"health mode must be one of {HEALTH_MODES}")
        self._net.set_default_mode(mode)  # type: ignore[arg-type]

    def instance_health_url(self, instance_id: str) -> str | None:
        """``http://127.0.0.1:<port>/health`` of an active instance, else None."""
        self._sync()
        return self._net.url(instance_id)

    def close(self) -> None:
        """Stop every health server."""
        self._net.close()

    def _sync(self) -> None:
        self._net.sync(self.state.active_ids())

    # --- admin -------------------------------------------------------------------------

    def extra_admin_routes(self) -> list[BaseRoute]:
        """Admin controls: capacity, never-activate, health modes, health URLs."""

        async def health_url(request: Request) -> JSONResponse:
            instance_id = request.path_params["id"]
            url = self.instance_health_url(instance_id)
            if url is None:
                return JSONResponse({"error": "instance is not active"}, status_code=404)
            return JSONResponse({"url": url})

        async def set_health(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                self.set_health(request.path_params["id"], str(body.get("mode")))
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            return JSONResponse({})

        async def set_capacity(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                self.set_capacity(str(body.get("instance_type")), list(body.get("regions", [])))
            except (ValueError, TypeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            return JSONResponse({})

        async def never_activate(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                self.never_activate(str(body.get("target")))
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            return JSONResponse({})

        return [
            Route("/instances/{id}/health-url", health_url, methods=["GET"]),
            Route("/instances/{id}/health", set_health, methods=["PUT"]),
            Route("/capacity", set_capacity, methods=["PUT"]),
            Route("/never-activate", never_activate, methods=["POST"]),
        ]
