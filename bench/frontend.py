"""Track 1 benchmarks on the sandbox, measured side by side in one run.

B4: files uploaded when 1 of 500 files changed since the last deploy (goal 1).
B3: time from the first failed production answer to healthy production again, as a
    multiple of the health probe interval (goal at most 2), with a poller hitting
    production every 10 ms while release 2 breaks in production and is rolled back.

Run with ``python bench/frontend.py``; figures go to ``bench/results/latest.json``
and ``latest.md``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from _results import record

COMMAND = "python bench/frontend.py"


def _app(root: Path, files: int) -> Path:
    app = root / "site"
    (app / "src").mkdir(parents=True)
    package = {"name": "site", "scripts": {"build": "vite build"}, "devDependencies": {"vite": "7"}}
    (app / "package.json").write_text(json.dumps(package))
    (app / "index.html").write_text("<html><body>Orchestra bench release 1</body></html>")
    for n in range(files - 2):
        (app / "src" / f"module_{n:03}.js").write_text(f"export const n = {n};\n")
    return app


def _poll(url: str, host: str, stop: threading.Event, seen: list[tuple[float, int]]) -> None:
    with httpx.Client(timeout=2) as client:
        while not stop.is_set():
            try:
                status = client.get(url, headers={"host": host}).status_code
            except httpx.HTTPError:
                status = 0
            seen.append((time.monotonic(), status))
            time.sleep(0.01)


def _restore_time(seen: list[tuple[float, int]]) -> float | None:
    first_bad = next((t for t, s in seen if s != 200), None)
    if first_bad is None:
        return None
    healthy_again = next((t for t, s in seen if t > first_bad and s == 200), None)
    return None if healthy_again is None else healthy_again - first_bad


def main() -> None:
    """Run B4 then B3 and record both."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        from flows.frontend_migration import (
            FrontendMigrationParams,
            HealthParams,
            frontend_migration,
        )
        from orchestra_ops.errors import RolledBack
        from orchestra_ops.sandbox.runner import Sandbox

        app = _app(root, 500)
        sandbox = Sandbox(root / "sandbox")
        with sandbox as endpoints:
            os.environ.update(endpoints.as_environment())
            os.environ["ORCHESTRA_STATE_DIR"] = str(root / "state")
            interval = 0.5
            params = FrontendMigrationParams(
                repo_path=str(root),
                app="site",
                project="bench-site",
                backend_api_url="http://127.0.0.1:9",
                preflight=False,
                health=HealthParams(consecutive=2, interval_s=interval, budget_s=30),
            )
            frontend_migration(params)
            (app / "src" / "module_007.js").write_text("export const n = 'changed';\n")
            sandbox.vercel.log.clear()
            frontend_migration(params)
            uploads = sum(
                1
                for e in sandbox.vercel.log.entries()
                if e.method == "POST" and e.path == "/v2/files"
            )
            (app / "index.html").write_text("<html><body>Orchestra bench release 3</body></html>")
            sandbox.vercel.break_next_promotions(1)
            seen: list[tuple[float, int]] = []
            stop = threading.Event()
            poller = threading.Thread(
                target=_poll, args=(endpoints.vercel_edge_url, "bench-site.vercel.app", stop, seen)
            )
            poller.start()
            try:
                frontend_migration(params)
            except RolledBack:
                pass
            time.sleep(0.2)
            stop.set()
            poller.join()
        restore = _restore_time(seen)
    figures: list[dict[str, Any]] = [
        {
            "key": "B4",
            "name": "files uploaded when 1 of 500 changed",
            "value": uploads,
            "unit": "files",
            "goal": "1",
            "command": COMMAND,
        },
        {
            "key": "B3",
            "name": "first failed production answer to healthy again / probe interval",
            "value": round(restore / interval, 2) if restore is not None else None,
            "unit": "probe intervals",
            "goal": "<= 2",
            "command": COMMAND,
            "detail": f"restored in {restore:.3f} s with a {interval} s probe interval"
            if restore is not None
            else "no failure observed",
        },
    ]
    record(figures)
    for figure in figures:
        value = f"{figure['value']} {figure['unit']}"
        print(f"{figure['key']} {figure['name']}: {value} (goal {figure['goal']})")


if __name__ == "__main__":
    main()
