"""Requests per second the Lambda Cloud emulator sustains for GET /api/v1/instances.

One ``httpx.Client`` over loopback, a bounded loop (2000 requests or 10 s, whichever comes
first), against an account holding five active instances. Prints one line per serving
set-up:

- ``serve_in_thread``: the sandbox plumbing as it is;
- ``nodelay socket``: the same uvicorn server on a socket created with ``IPPROTO_TCP``, so
  that asyncio turns on TCP_NODELAY for accepted connections (isolates the cost of
  delayed ACKs when the plumbing's socket does not get it).

Run with ``python bench/lambda_emulator_rps.py``. A measurement, not a test.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from orchestra_ops.sandbox.lambda_cloud import DEFAULT_API_KEY, LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread

MAX_REQUESTS = 2000
MAX_SECONDS = 10.0
INSTANCES = 5


def _seed(client: httpx.Client) -> None:
    client.post("/ssh-keys", json={"name": "bench"}).raise_for_status()
    body = {
        "region_name": "us-west-1",
        "instance_type_name": "cpu_4x_general",
        "ssh_key_names": ["bench"],
        "quantity": INSTANCES,
    }
    client.post("/instance-operations/launch", json=body).raise_for_status()


def measure(root_url: str) -> tuple[int, float]:
    """Seed the account, then list instances in a bounded loop; (requests, seconds)."""
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    with httpx.Client(base_url=f"{root_url}/api/v1", headers=headers) as client:
        _seed(client)
        done = 0
        start = time.perf_counter()
        while done < MAX_REQUESTS and time.perf_counter() - start < MAX_SECONDS:
            answer = client.get("/instances")
            if answer.status_code != 200 or len(answer.json()["data"]) != INSTANCES:
                raise SystemExit(f"unexpected answer: HTTP {answer.status_code}")
            done += 1
        return done, time.perf_counter() - start


def through_plumbing() -> tuple[int, float]:
    """The emulator served by orchestra_ops.sandbox.server.serve_in_thread."""
    emulator = LambdaCloudEmulator()
    try:
        with serve_in_thread(emulator.app(), name="bench-lambda") as api:
            return measure(api.url)
    finally:
        emulator.close()


def through_nodelay_socket() -> tuple[int, float]:
    """The emulator on uvicorn with a socket made with IPPROTO_TCP."""
    emulator = LambdaCloudEmulator()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(emulator.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        return measure(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        emulator.close()


def main() -> None:
    """Print requests per second for each serving set-up."""
    for label, run in [
        ("serve_in_thread", through_plumbing),
        ("nodelay socket", through_nodelay_socket),
    ]:
        done, seconds = run()
        print(f"{label:>16}: {done / seconds:8.1f} req/s ({done} requests in {seconds:.2f} s)")


if __name__ == "__main__":
    main()
