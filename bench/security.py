"""Track 3 benchmarks, measured side by side in one run against the sandbox feeds.

B5: scanning 20 manifests with 4 tool runs at a time / the same runs one after another
    (goal at most 0.6 on 2 cores).
Flow overhead: the security-scan flow's wall time / the bare scan it wraps.

Run with ``python bench/security.py``; figures go to ``bench/results/latest.json``
and ``latest.md``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from _results import record

COMMAND = "python bench/security.py"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "orchestra-main"


def _repo(root: Path) -> Path:
    """20 manifests: 10 pinned requirements files and 10 npm lockfiles."""
    repo = root / "fleet"
    for n in range(10):
        service = repo / f"service-{n:02}"
        service.mkdir(parents=True)
        shutil.copy(EXAMPLE / "requirements.txt", service / "requirements.txt")
        web = repo / f"web-{n:02}"
        web.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(EXAMPLE / "admin-interface" / name, web / name)
    return repo


def _timed(fn: object, *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    """Sequential vs concurrent scans, then the flow vs the bare scan."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        from flows.security_scan import SecurityScanParams, security_scan
        from orchestra_ops.adapters.scanners.run import scan_repo
        from orchestra_ops.sandbox.feeds import Feeds
        from orchestra_ops.settings import load_settings

        repo = _repo(root)
        feeds = Feeds()
        db = feeds.write_safety_db(root / "safety-db")
        with feeds.serve() as served:
            os.environ.update(
                ORCHESTRA_OSV_API_URL=served.osv.url,
                ORCHESTRA_NPM_REGISTRY_URL=served.npm.url,
                ORCHESTRA_SAFETY_AUTH_SERVER_URL=served.safety.url,
                ORCHESTRA_SAFETY_DB_DIR=str(db),
                ORCHESTRA_STATE_DIR=str(root / "state"),
            )
            settings = load_settings(env_file=None).scan
            sequential = _timed(scan_repo, repo, settings, root / "w1", 1)
            concurrent = _timed(scan_repo, repo, settings, root / "w2", 4)
            bare = _timed(scan_repo, repo, settings, root / "w3", 4)
            params = SecurityScanParams(repo_path=str(repo), fail_on_findings=False)
            security_scan(params)  # the first flow run also starts Prefect's local server
            flow = _timed(security_scan, params)
    figures = [
        {
            "key": "B5",
            "name": "20 manifests, 4 at a time / one after another",
            "value": round(concurrent / sequential, 2),
            "unit": "ratio",
            "goal": "<= 0.6",
            "command": COMMAND,
            "detail": f"{concurrent:.1f} s vs {sequential:.1f} s",
        },
        {
            "key": "B5-overhead",
            "name": "security-scan flow / the bare scan it wraps",
            "value": round(flow / bare, 2),
            "unit": "ratio",
            "goal": "for the record",
            "command": COMMAND,
            "detail": f"{flow:.1f} s vs {bare:.1f} s",
        },
    ]
    record(figures)
    for figure in figures:
        print(f"{figure['key']} {figure['name']}: {figure['value']} ({figure['detail']})")


if __name__ == "__main__":
    main()
