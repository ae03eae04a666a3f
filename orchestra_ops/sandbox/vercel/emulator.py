"""The Vercel emulator: API app, edge app, fault plan, request log and test controls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp

from orchestra_ops.sandbox.faults import FaultMiddleware, FaultPlan, RequestLog
from orchestra_ops.sandbox.vercel.app import Api, build_api
from orchestra_ops.sandbox.vercel.edge import Edge
from orchestra_ops.sandbox.vercel.limits import RateLimiter, ThrottleHeaders, fault_limit_body
from orchestra_ops.sandbox.vercel.state import Health, State
from orchestra_ops.sandbox.vercel.traffic import TrafficLog, TrafficMiddleware

HEALTH_MODES = ("ok", "fail", "slow", "maintenance", "recover")
VERCEL_SANDBOX_TOKEN = "sandboxVercelToken000001"  # noqa: S105 - the sandbox's own fake token
"""The emulator's fixed token, in Vercel's format (24 letters and digits: the CLI refuses
a token with any other character)."""
_CODES = {
    400: "bad_request",
    401: "forbidden",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    500: "internal_server_error",
}


def error_body(status: int) -> dict[str, Any]:
    """Vercel's error envelope for an injected status (429 carries ``error.limit``)."""
    if status == 429:
        return fault_limit_body()
    code = _CODES.get(status, "internal_server_error" if status >= 500 else f"http_{status}")
    return {"error": {"code": code, "message": f"Injected fault: HTTP {status}"}}


class VercelEmulator:
    """A stateful Vercel API emulator on loopback, with an edge serving deployments."""

    def __init__(
        self,
        token: str = VERCEL_SANDBOX_TOKEN,
        team_id: str | None = None,
        build_delay_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        rate_limit: int | None = None,
        *,
        rate_window_s: float = 60.0,
    ) -> None:
        self.plan = FaultPlan()
        self.log = RequestLog()
        self.traffic = TrafficLog()
        self.state = State(team_id=team_id, build_delay_s=build_delay_s, clock=clock)
        self._api = Api(self.state, token)
        self._rate_limit = rate_limit
        self._rate_window_s = rate_window_s

    def __repr__(self) -> str:
        return f"VercelEmulator(team_id={self.state.team_id!r})"

    @property
    def team_queries(self) -> list[tuple[str, str, str | None]]:
        """(method, path, teamId query or None) of every API request, in order."""
        with self.state.lock:
            return list(self._api.team_queries)

    def app(self) -> ASGIApp:
        """The API as an ASGI app, behind fault injection and the optional rate limit."""
        inner: ASGIApp = build_api(self._api)
        if self._rate_limit is not None:
            inner = RateLimiter(
                inner, limit=self._rate_limit, window_s=self._rate_window_s, clock=self.state.clock
            )
        faulted = FaultMiddleware(inner, plan=self.plan, log=self.log, error_body=error_body)
        return TrafficMiddleware(ThrottleHeaders(faulted), self.traffic)

    def has_route(self, method: str, path: str) -> bool:
        """True when the API has a route for ``method path`` (whatever the object's fate)."""
        scope = {"type": "http", "method": method.upper(), "path": path}
        return any(route.matches(scope)[0] is Match.FULL for route in self._api.routes())

    def edge_app(self) -> ASGIApp:
        """The edge serving deployments by Host header."""
        return Edge(self.state)

    # --- controls for tests and the admin endpoint --------------------------------------

    def fail_next_builds(self, n: int = 1, message: str = "Command failed: npm run build") -> None:
        """Make the next ``n`` deployments end in ERROR (errorCode BUILD_FAILED)."""
        with self.state.lock:
            self.state.pending_failures.extend([message] * n)

    def set_deployment_health(self, deployment_id: str, mode: str, delay_s: float = 5.0) -> None:
        """Edge health of one deployment: ok, fail (500), slow (``delay_s``), maintenance (a
        200 page that is not the deployment's), recover (= ok).

        ``deployment_id`` may also be a hostname (e.g. ``web.vercel.app``): then only
        requests for that host are affected, whichever deployment it points at, as when
        production alone is misconfigured.
        """
        if mode not in HEALTH_MODES:
            raise ValueError(f"health mode must be one of {', '.join(HEALTH_MODES)}")
        with self.state.lock:
            if mode in ("ok", "recover"):
                self.state.health.pop(deployment_id, None)
            else:
                self.state.health[deployment_id] = Health(mode, delay_s)

    def break_next_promotions(self, n: int = 1) -> None:
        """The next ``n`` promoted deployments start failing (500) once promoted.

        A release that passes its preview checks and breaks under production traffic:
        what the production health gate and the automatic rollback are for.
        """
        with self.state.lock:
            self.state.broken_promotions += n

    def extra_admin_routes(self) -> list[BaseRoute]:
        """POST /fail-builds {count, message}; POST /health/{deployment_id} {mode, delay_s};
        GET /traffic (the measured request log with totals); DELETE /traffic (clear it)."""

        async def traffic(request: Request) -> JSONResponse:
            if request.method == "DELETE":
                self.traffic.clear()
                return JSONResponse({})
            return JSONResponse(self.traffic.summary())

        async def fail_builds(request: Request) -> JSONResponse:
            data = await request.json()
            self.fail_next_builds(int(data.get("count", 1)), str(data.get("message", "failed")))
            return JSONResponse({})

        async def health(request: Request) -> JSONResponse:
            data = await request.json()
            try:
                self.set_deployment_health(
                    request.path_params["deployment_id"],
                    str(data.get("mode")),
                    float(data.get("delay_s", 5.0)),
                )
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
            return JSONResponse({})

        return [
            Route("/fail-builds", fail_builds, methods=["POST"]),
            Route("/health/{deployment_id}", health, methods=["POST"]),
            Route("/traffic", traffic, methods=["GET", "DELETE"]),
        ]
