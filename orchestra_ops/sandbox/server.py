"""Serve an ASGI app on 127.0.0.1 in a background thread (a real socket, real HTTP).

A sync ``httpx.Client`` cannot talk to an ASGI app in-process, so tests, the demo and
the benchmarks all reach the emulators over loopback, as a real client would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"
_START_TIMEOUT_S = 20.0


@dataclass
class ServedApp:
    """An app being served; ``url`` has no trailing slash. Stop it with ``stop()``."""

    url: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread."""
        stop_all([self])

    def __enter__(self) -> ServedApp:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_all(served: Iterable[ServedApp]) -> None:
    """Stop several servers together: all are asked first, then waited for.

    Each server's loop notices the request within 0.1 s, so stopping n servers takes about
    0.1 s, not n times that.
    """
    apps = list(served)
    for app in apps:
        app._server.should_exit = True
    for app in apps:
        app._thread.join(timeout=10)


def serve_in_thread(app: ASGIApp, *, port: int = 0, name: str = "sandbox") -> ServedApp:
    """Start ``app`` on 127.0.0.1 (a free port by default) and return once it accepts."""
    # proto=IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections; without
    # it every response waits ~40 ms for the client's delayed ACK (uvicorn writes the
    # headers and the body separately).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"{name}:{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"{name} server did not start on {LOOPBACK}:{bound_port}")
        time.sleep(0.01)
    return ServedApp(f"http://{LOOPBACK}:{bound_port}", bound_port, server, thread)
