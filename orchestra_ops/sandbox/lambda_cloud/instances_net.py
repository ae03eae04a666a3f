"""A real HTTP health endpoint on 127.0.0.1 for every active instance (own port each).

Each server answers ``GET /health`` with ``{"status": "ok", "instance_id": ...}`` and any
``/api/{path}`` with JSON too, so a Vercel rewrite can point at it. Modes, per instance:

- ``ok``: 200.
- ``fail``: 503 ``{"status": "fail", ...}``.
- ``hang``: hold the request until the mode changes or the server stops (at most
  ``HANG_LIMIT_S``), then answer by the new mode (503 if still hanging); a probe with a
  shorter timeout times out.
- ``recover``: the next ``RECOVER_FAILURES`` requests get 503, later ones 200 (a blip).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestra_ops.sandbox.server import ServedApp, serve_in_thread, stop_all

HealthMode = Literal["ok", "fail", "hang", "recover"]
HEALTH_MODES: tuple[str, ...] = ("ok", "fail", "hang", "recover")
HANG_LIMIT_S = 30.0
RECOVER_FAILURES = 2
_POLL_S = 0.02


@dataclass
class _Slot:
    """The health behaviour of one instance."""

    mode: HealthMode = "ok"
    failures_left: int = 0
    stopping: bool = False


class HealthServers:
    """Start, stop and steer the per-instance health servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[str, ServedApp] = {}
        self._slots: dict[str, _Slot] = {}
        self._default: HealthMode = "ok"

    def set_default_mode(self, mode: HealthMode) -> None:
        """How endpoints of instances not seen yet will answer (a bad release, say)."""
        if mode not in HEALTH_MODES:
            raise ValueError(f"health mode must be one of {HEALTH_MODES}")
        with self._lock:
            self._default = mode

    def _new_slot(self) -> _Slot:
        mode = self._default
        return _Slot(mode, RECOVER_FAILURES if mode == "recover" else 0)

    def set_mode(self, instance_id: str, mode: HealthMode) -> None:
        """Change how an instance's endpoint answers (kept across restarts)."""
        if mode not in HEALTH_MODES:
            raise ValueError(f"health mode must be one of {HEALTH_MODES}")
        with self._lock:
            slot = self._slots.setdefault(instance_id, _Slot())
            slot.mode = mode
            slot.failures_left = RECOVER_FAILURES if mode == "recover" else 0

    def url(self, instance_id: str) -> str | None:
        """The health URL of a running endpoint, else None."""
        with self._lock:
            served = self._servers.get(instance_id)
            return f"{served.url}/health" if served else None

    def needs_sync(self, active_ids: set[str]) -> bool:
        """True when the running servers differ from the active instances."""
        with self._lock:
            return set(self._servers) != active_ids

    def sync(self, active_ids: set[str]) -> None:
        """Start endpoints of newly active instances, stop those of the others."""
        with self._lock:
            to_start = active_ids - set(self._servers)
            to_stop = {i: self._servers.pop(i) for i in set(self._servers) - active_ids}
            for instance_id in to_stop:
                self._slots[instance_id].stopping = True
            for instance_id in to_start:
                slot = self._slots.get(instance_id) or self._new_slot()
                self._slots[instance_id] = slot
                slot.stopping = False
                self._servers[instance_id] = serve_in_thread(
                    _health_app(instance_id, slot), name=f"lambda-health-{instance_id[:8]}"
                )
        stop_all(to_stop.values())

    def close(self) -> None:
        """Stop every endpoint."""
        self.sync(set())


def _health_app(instance_id: str, slot: _Slot) -> Starlette:
    async def answer(request: Request) -> JSONResponse:
        deadline = time.monotonic() + HANG_LIMIT_S
        hung = slot.mode == "hang"
        while slot.mode == "hang" and not slot.stopping and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
        failing = slot.mode in ("fail", "hang")
        if slot.mode == "recover" and slot.failures_left > 0:
            # A request released from a hang fails but does not use up the blip's count.
            slot.failures_left -= 0 if hung else 1
            failing = True
        body: dict[str, str] = {"status": "fail" if failing else "ok", "instance_id": instance_id}
        if request.url.path != "/health":
            body["path"] = request.url.path
        return JSONResponse(body, status_code=503 if failing else 200)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/health", answer, methods=["GET"]),
            Route("/api/{path:path}", answer, methods=methods),
        ]
    )
