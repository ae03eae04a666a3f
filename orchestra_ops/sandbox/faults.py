"""Fault injection and the request log, shared by every emulator.

A :class:`FaultPlan` holds rules ("the next 2 POSTs to /v13/deployments answer 503");
:class:`FaultMiddleware` applies them in front of an emulator and records every request
in a :class:`RequestLog`, so tests can assert what reached the API (e.g. "no mutating
call on re-run"). Rules are set from Python or over the admin endpoint.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

FaultMode = Literal["respond", "after_effect", "hang"]


@dataclass
class Fault:
    """One injected fault.

    - ``path``: a regular expression matched against the whole request path.
    - ``method``: the HTTP method, or None for any.
    - ``mode``: ``respond`` answers ``status`` without touching state; ``after_effect``
      lets the request take effect, then answers ``status`` ("succeeded but said 500");
      ``hang`` waits ``delay_s`` and then answers normally (a client timeout shorter than
      ``delay_s`` sees a timeout).
    - ``delay_s``: latency added before the answer (all modes).
    - ``count``: how many matching requests it applies to; None means until removed.
    - ``headers``: extra response headers (e.g. ``Retry-After``).
    - ``body``: the answer's JSON body; None uses the emulator's own error envelope.
    """

    path: str
    method: str | None = None
    status: int = 500
    mode: FaultMode = "respond"
    delay_s: float = 0.0
    count: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    id: int = 0

    def matches(self, method: str, path: str) -> bool:
        """True when this fault applies to ``method path``."""
        if self.method is not None and self.method.upper() != method:
            return False
        return re.fullmatch(self.path, path) is not None


class FaultPlan:
    """The active faults of one emulator; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> int:
        """Activate ``fault``; returns its id."""
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
            return fault.id

    def inject(self, path: str, **options: Any) -> int:
        """Shorthand: ``plan.inject(r"/v13/deployments", method="POST", status=503)``."""
        return self.add(Fault(path=path, **options))

    def remove(self, fault_id: int) -> None:
        """Deactivate one fault."""
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """The faults still active."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it (no headers, so no credentials)."""

    method: str
    path: str
    status: int
    at: float
    fault_id: int | None = None

    @property
    def mutating(self) -> bool:
        """True for POST, PUT, PATCH and DELETE."""
        return self.method in MUTATING_METHODS


class RequestLog:
    """Every request an emulator answered, in order; thread-safe."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        """Append one entry."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        """A copy of the log."""
        with self._lock:
            return list(self._entries)

    def mutating(self) -> list[LoggedRequest]:
        """Only the requests that could change state."""
        return [e for e in self.entries() if e.mutating]

    def clear(self) -> None:
        """Forget everything logged so far."""
        with self._lock:
            self._entries.clear()


ErrorBody = Callable[[int], Any]
"""Builds an emulator's own error envelope for an injected status."""


class FaultMiddleware:
    """ASGI middleware: log each request, apply a matching fault, pass the rest through.

    Paths under ``exempt_prefix`` (the admin routes) are neither faulted nor logged.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: FaultPlan,
        log: RequestLog,
        error_body: ErrorBody,
        exempt_prefix: str = "/_sandbox",
    ) -> None:
        self.app = app
        self.plan = plan
        self.log = log
        self.error_body = error_body
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        fault = self.plan.take(method, path)

        async def send_logged(message: Any) -> None:
            # Logged before the answer leaves, so a client that has its answer can
            # already read the entry (tests assert on the log right after a call).
            if message["type"] == "http.response.start":
                self.log.record(
                    LoggedRequest(
                        method, path, message["status"], time.time(), fault.id if fault else None
                    )
                )
            await send(message)

        if fault is not None and fault.delay_s > 0:
            await asyncio.sleep(fault.delay_s)
        if fault is None or fault.mode == "hang":
            await self.app(scope, receive, send_logged)
        elif fault.mode == "respond":
            await self._fault_response(fault)(scope, receive, send_logged)
        else:  # after_effect: let it take effect, then lie about it
            await self.app(scope, receive, _discard)
            await self._fault_response(fault)(scope, receive, send_logged)

    def _fault_response(self, fault: Fault) -> Response:
        body = fault.body if fault.body is not None else self.error_body(fault.status)
        return JSONResponse(body, status_code=fault.status, headers=fault.headers)


async def _discard(message: Any) -> None:
    """Swallow the real answer of an ``after_effect`` fault."""


def fault_from_json(data: dict[str, Any]) -> Fault:
    """Build a Fault from the admin endpoint's JSON body; raises ValueError when malformed."""
    allowed = {"path", "method", "status", "mode", "delay_s", "count", "headers", "body"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    if not isinstance(data.get("path"), str):
        raise ValueError("fault needs a 'path' regular expression")
    try:
        re.compile(data["path"])
    except re.error as error:
        raise ValueError(f"fault path is not a valid regular expression: {error}") from error
    if data.get("mode", "respond") not in ("respond", "after_effect", "hang"):
        raise ValueError("fault mode must be respond, after_effect or hang")
    return Fault(**data)


async def read_fault(request: Request) -> Fault | JSONResponse:
    """Parse a fault from an admin request, or the 400 answer explaining why not."""
    try:
        data = await request.json()
        if not isinstance(data, dict):
            raise ValueError("fault must be a JSON object")
        return fault_from_json(data)
    except (ValueError, TypeError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
