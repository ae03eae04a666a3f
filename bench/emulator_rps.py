"""Requests per second each cloud emulator sustains, one httpx.Client over loopback.

Lambda: GET /api/v1/instances on an account with five active instances. Vercel:
GET /v9/projects/{id}. Each loop is bounded (2000 requests or 10 s, whichever comes
first); both are served by ``serve_in_thread`` exactly as tests and the demo use them.
Run with ``python bench/emulator_rps.py``. A measurement, never a test assertion.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from orchestra_ops.sandbox.lambda_cloud import DEFAULT_API_KEY, LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator

MAX_REQUESTS = 2000
MAX_SECONDS = 10.0
INSTANCES = 5
VERCEL_TOKEN = "bench-token"  # noqa: S105 - the emulator's fake token


def _loop(
    client: httpx.Client, path: str, ok: Callable[[httpx.Response], bool]
) -> tuple[int, float]:
    done = 0
    start = time.perf_counter()
    while done < MAX_REQUESTS and time.perf_counter() - start < MAX_SECONDS:
        answer = client.get(path)
        if not ok(answer):
            raise SystemExit(f"unexpected answer from {path}: HTTP {answer.status_code}")
        done += 1
    return done, time.perf_counter() - start


def lambda_rps() -> tuple[int, float]:
    """List instances in a loop."""
    emulator = LambdaCloudEmulator()
    try:
        with serve_in_thread(emulator.app(), name="bench-lambda") as api:
            headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
            with httpx.Client(base_url=f"{api.url}/api/v1", headers=headers) as client:
                client.post("/ssh-keys", json={"name": "bench"}).raise_for_status()
                launch = {
                    "region_name": "us-west-1",
                    "instance_type_name": "cpu_4x_general",
                    "ssh_key_names": ["bench"],
                    "quantity": INSTANCES,
                }
                client.post("/instance-operations/launch", json=launch).raise_for_status()
                return _loop(
                    client,
                    "/instances",
                    lambda a: a.status_code == 200 and len(a.json()["data"]) == INSTANCES,
                )
    finally:
        emulator.close()


def vercel_rps() -> tuple[int, float]:
    """Get one project in a loop."""
    with serve_in_thread(VercelEmulator(token=VERCEL_TOKEN).app(), name="bench-vercel") as api:
        headers = {"Authorization": f"Bearer {VERCEL_TOKEN}"}
        with httpx.Client(base_url=api.url, headers=headers) as client:
            project = client.post("/v11/projects", json={"name": "bench"}).json()["id"]
            return _loop(client, f"/v9/projects/{project}", lambda a: a.status_code == 200)


def main() -> None:
    """Print one line per emulator."""
    runs: list[tuple[str, Callable[[], tuple[int, float]]]] = [
        ("lambda GET /api/v1/instances", lambda_rps),
        ("vercel GET /v9/projects/{id}", vercel_rps),
    ]
    for label, run in runs:
        done, elapsed = run()
        print(f"{label}: {done} requests in {elapsed:.2f} s = {done / elapsed:.0f} req/s")


if __name__ == "__main__":
    main()
