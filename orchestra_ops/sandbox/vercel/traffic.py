"""A request log that can measure: what each API call carried and cost, never its token.

:class:`TrafficMiddleware` sits outermost in front of the Vercel API (faults and rate
limits included) and records, per request: method, path, query string, status, bytes of
request and response body, wall time, and an allow-list of headers (content type and
length, user agent, the upload digest and size headers). The ``Authorization`` header is
never recorded, and a query parameter whose name mentions a token or secret is masked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RECORDED_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-vercel-digest",
    "x-now-digest",
    "x-now-size",
)
_MASKED_QUERY = ("token", "secret")


@dataclass(frozen=True)
class Exchange:
    """One API request and its answer, as measured."""

    method: str
    path: str
    query: str
    status: int
    request_bytes: int
    response_bytes: int
    duration_ms: float
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class TrafficLog:
    """Every measured exchange, in order; thread-safe."""

    def __init__(self) -> None:
        self._entries: list[Exchange] = []
        self._lock = threading.Lock()

    def record(self, entry: Exchange) -> None:
        """Append one exchange."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[Exchange]:
        """A copy of the log."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget everything measured so far."""
        with self._lock:
            self._entries.clear()

    def summary(self) -> dict[str, Any]:
        """The entries as JSON plus totals (requests, request and response bytes)."""
        entries = self.entries()
        return {
            "entries": [asdict(e) for e in entries],
            "totals": {
                "requests": len(entries),
                "request_bytes": sum(e.request_bytes for e in entries),
                "response_bytes": sum(e.response_bytes for e in entries),
            },
        }


def masked_query(raw: str) -> str:
    """The query string with token- or secret-named parameters masked."""
    if not raw:
        return ""
    pairs = parse_qsl(raw, keep_blank_values=True)
    masked = [
        (key, "***" if any(word in key.lower() for word in _MASKED_QUERY) else value)
        for key, value in pairs
    ]
    return urlencode(masked)


class TrafficMiddleware:
    """ASGI middleware recording an :class:`Exchange` per HTTP request into ``log``."""

    def __init__(self, app: ASGIApp, log: TrafficLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the bytes both ways; record once the answer's last byte is sent."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        sizes = {"in": 0, "out": 0, "status": 0}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                sizes["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sizes["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sizes["out"] += len(message.get("body", b""))
                if not message.get("more_body", False):
                    self.log.record(_exchange(scope, sizes, started))
            await send(message)

        await self.app(scope, counting_receive, counting_send)


def _exchange(scope: Scope, sizes: dict[str, int], started: float) -> Exchange:
    headers = {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }
    return Exchange(
        method=scope["method"],
        path=scope["path"],
        query=masked_query(scope.get("query_string", b"").decode("latin-1")),
        status=sizes["status"],
        request_bytes=sizes["in"],
        response_bytes=sizes["out"],
        duration_ms=round((time.monotonic() - started) * 1000, 3),
        at=time.time(),
        headers={k: headers[k] for k in RECORDED_HEADERS if k in headers},
    )
