"""Requests per second of the Vercel emulator for GET /v9/projects/{id}, one httpx.Client.

Bounded: 2000 requests or 10 s per run, whichever comes first. Prints two figures:

- through ``serve_in_thread`` as it is today. Its listening socket is created without
  ``IPPROTO_TCP``, so asyncio does not set TCP_NODELAY on accepted connections and every
  response waits for the client's delayed ACK (about 40 ms on Linux);
- through the same uvicorn set-up with the socket created as ``IPPROTO_TCP``, which is
  what the emulator itself can do.

Run with ``python bench/vercel_emulator_rps.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import httpx
import uvicorn
from starlette.types import ASGIApp

from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator

MAX_REQUESTS = 2000
MAX_SECONDS = 10.0
TOKEN = "bench-token"  # noqa: S105 - the sandbox's fake token


def measure(url: str) -> tuple[int, float]:
    """Create one project, then GET it in a bounded loop; (requests, seconds)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers) as client:
        project_id = client.post("/v11/projects", json={"name": "bench"}).json()["id"]
        path = f"/v9/projects/{project_id}"
        done = 0
        start = time.perf_counter()
        while done < MAX_REQUESTS and time.perf_counter() - start < MAX_SECONDS:
            answer = client.get(path)
            if answer.status_code != 200:
                raise SystemExit(f"unexpected HTTP {answer.status_code}")
            done += 1
        return done, time.perf_counter() - start


def with_plumbing() -> tuple[int, float]:
    """Through orchestra_ops.sandbox.server.serve_in_thread."""
    with serve_in_thread(VercelEmulator(token=TOKEN).app()) as api:
        return measure(api.url)


def with_nodelay() -> tuple[int, float]:
    """Through uvicorn on a socket created with IPPROTO_TCP (asyncio then sets TCP_NODELAY)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    app: ASGIApp = VercelEmulator(token=TOKEN).app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        return measure(f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    """Run both measurements and print the figures."""
    runs: list[tuple[str, Callable[[], tuple[int, float]]]] = [
        ("serve_in_thread (no TCP_NODELAY)", with_plumbing),
        ("IPPROTO_TCP socket (TCP_NODELAY)", with_nodelay),
    ]
    for label, run in runs:
        done, elapsed = run()
        print(
            f"GET /v9/projects/{{id}} via {label}: {done} requests in {elapsed:.2f} s "
            f"= {done / elapsed:.0f} req/s"
        )


if __name__ == "__main__":
    main()
