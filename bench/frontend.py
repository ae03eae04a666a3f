"""Track 1 benchmarks on the sandbox, measured side by side in one run.

B4: files uploaded when 1 of 500 files changed since the last deploy (goal 1).
B3: time from the first failed production answer to healthy production again, as a
    multiple of the health probe interval (goal at most 2), with a poller hitting
    production every 10 ms while release 2 breaks in production and is rolled back.
B8: the share of healthy production answers over a whole rollout, a poller hitting
    production every 100 ms (the plan's promise is 99.9% uptime): B8a for a broken
    release caught before promotion (its build fails), B8b for one caught after
    promotion (it breaks under production traffic and is rolled back).

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


def _poll(
    url: str, host: str, stop: threading.Event, seen: list[tuple[float, int]], every_s: float
) -> None:
    with httpx.Client(timeout=2) as client:
        while not stop.is_set():
            try:
                status = client.get(url, headers={"host": host}).status_code
            except httpx.HTTPError:
                status = 0
            seen.append((time.monotonic(), status))
            time.sleep(every_s)


def _healthy_share(seen: list[tuple[float, int]]) -> float:
    return sum(1 for _, status in seen if status == 200) / max(len(seen), 1)


def _watched(edge: str, host: str, every_s: float, run: Any) -> list[tuple[float, int]]:
    """What production answered every ``every_s`` while ``run()`` ran."""
    seen: list[tuple[float, int]] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(edge, host, stop, seen, every_s))
    poller.start()
    try:
        run()
    except Exception as error:  # the broken releases end in an error, as intended
        print(f"  (the run ended as intended: {type(error).__name__})")
    finally:
        time.sleep(0.2)
        stop.set()
        poller.join()
    return seen


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
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from flows.frontend_migration import FrontendMigrationParams, frontend_migration
        from flows.params import HealthParams
        from orchestra_ops.sandbox.runner import Sandbox
        from orchestra_ops.sandbox.server import serve_in_thread

        async def api(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        app = _app(root, 500)
        sandbox = Sandbox(root / "sandbox")
        backend = serve_in_thread(Starlette(routes=[Route("/{path:path}", api)]))
        with sandbox as endpoints, backend:
            os.environ.update(endpoints.as_environment())
            os.environ["ORCHESTRA_STATE_DIR"] = str(root / "state")
            interval = 0.5
            params = FrontendMigrationParams(
                repo_path=str(root),
                app="site",
                project="bench-site",
                backend_api_url=backend.url,
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
            edge, host = endpoints.vercel_edge_url, "bench-site.vercel.app"
            (app / "index.html").write_text("<html><body>Orchestra bench release 3</body></html>")
            sandbox.vercel.break_next_promotions(1)
            seen = _watched(edge, host, 0.01, lambda: frontend_migration(params))
            (app / "index.html").write_text("<html><body>Orchestra bench release 4</body></html>")
            sandbox.vercel.fail_next_builds(1, "npm run build exited with 1")
            before_promotion = _watched(edge, host, 0.1, lambda: frontend_migration(params))
            (app / "index.html").write_text("<html><body>Orchestra bench release 5</body></html>")
            sandbox.vercel.break_next_promotions(1)
            after_promotion = _watched(edge, host, 0.1, lambda: frontend_migration(params))
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
        *(
            {
                "key": key,
                "name": f"healthy production answers over a rollout, {when}",
                "value": round(100 * _healthy_share(answers), 2),
                "unit": "%",
                "goal": ">= 99.9",
                "command": COMMAND,
                "detail": f"{len(answers)} answers, one every 100 ms, over "
                f"{answers[-1][0] - answers[0][0]:.1f} s",
            }
            for key, when, answers in (
                ("B8a", "broken release caught before promotion", before_promotion),
                ("B8b", "broken release caught after promotion", after_promotion),
            )
        ),
    ]
    record(figures)
    for figure in figures:
        value = f"{figure['value']} {figure['unit']}"
        print(f"{figure['key']} {figure['name']}: {value} (goal {figure['goal']})")


if __name__ == "__main__":
    main()
