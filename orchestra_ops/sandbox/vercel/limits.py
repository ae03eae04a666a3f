"""Rate limiting for the Vercel emulator, and the 429 headers every throttled answer carries.

Vercel answers 429 with ``Retry-After`` and ``X-RateLimit-Limit/Remaining/Reset`` (epoch
seconds) and puts ``limit: {remaining, reset, resetMs, total}`` in the error; per-endpoint
quotas are UNVERIFIED, so the emulator's limit is one counter for every API route.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_FAULT_RETRY_AFTER_S = 1
_FAULT_LIMIT_TOTAL = 100


def limit_body(
    total: int, remaining: int, retry_after_s: float, *, reset_ms: bool = False
) -> dict[str, Any]:
    """The ``error.limit`` object of a 429.

    ``reset`` is epoch seconds (the contract) unless ``reset_ms``: on deployment creation
    the Vercel CLI (64.0.2, ``handleDeploymentError``) prints ``reset - Date.now()`` as the
    wait, so there it must be milliseconds or the CLI says "retry in -20769 days".
    """
    reset = time.time() + retry_after_s
    return {
        "remaining": remaining,
        "reset": int(reset * 1000) if reset_ms else math.ceil(reset),
        "resetMs": int(reset * 1000),
        "total": total,
    }


def rate_limited_body(
    total: int, retry_after_s: float, *, reset_ms: bool = False
) -> dict[str, Any]:
    """Vercel's 429 envelope."""
    return {
        "error": {
            "code": "rate_limited",
            "message": "Rate limit exceeded",
            "limit": limit_body(total, 0, retry_after_s, reset_ms=reset_ms),
        }
    }


class RateLimiter:
    """ASGI middleware: at most ``limit`` requests per ``window_s`` of the emulator's clock."""

    def __init__(
        self, app: ASGIApp, *, limit: int, window_s: float, clock: Callable[[], float]
    ) -> None:
        self.app = app
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._count = 0

    def _admit(self) -> tuple[bool, int, float]:
        """(admitted, remaining, seconds until the window resets)."""
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.window_s:
                self._window_start, self._count = now, 0
            wait = self.window_s - (now - self._window_start)
            if self._count >= self.limit:
                return False, 0, wait
            self._count += 1
            return True, self.limit - self._count, wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request; answer 429 once the window's quota is spent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted, remaining, wait = self._admit()
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(time.time() + wait)),
        }
        if not admitted:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            creates = scope["method"] == "POST" and scope["path"] == "/v13/deployments"
            body = rate_limited_body(self.limit, wait, reset_ms=creates)
            answer = JSONResponse(body, 429, headers=headers)
            await answer(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ThrottleHeaders:
    """ASGI middleware: give every 429 (an injected fault too) Retry-After and X-RateLimit-*."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Fill in the throttling headers a 429 lacks."""

        async def patched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                headers = MutableHeaders(scope=message)
                retry_after = headers.get("retry-after") or str(DEFAULT_FAULT_RETRY_AFTER_S)
                defaults = {
                    "retry-after": retry_after,
                    "x-ratelimit-limit": str(_FAULT_LIMIT_TOTAL),
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(math.ceil(time.time() + _seconds(retry_after))),
                }
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, patched)


def fault_limit_body() -> dict[str, Any]:
    """The 429 envelope of an injected fault."""
    return rate_limited_body(_FAULT_LIMIT_TOTAL, DEFAULT_FAULT_RETRY_AFTER_S)


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return DEFAULT_FAULT_RETRY_AFTER_S
