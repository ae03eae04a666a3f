"""The product's Vercel uploader against Vercel's own CLI, side by side on the sandbox.

Same site (500 static files), same emulator code (a fresh instance per client, so neither
finds the other's files already uploaded), same machine. Each client runs as a fresh
process, so start-up counts for both: ours is ``deploy_files`` plus
``VercelClient.create_deployment`` in a new Python process, the CLI is the pinned
``vercel deploy`` (tools/vercel-conformance). Measured per scenario, the first deploy
and a redeploy after 1 of the 500 files changed:

- files and bytes uploaded (POST /v2/files) and all request bytes, from the emulator's
  traffic log;
- wall time of the client process (median of ``REPEATS`` runs).

BV1 / BV2 are ours / CLI wall time (goal at most 1.0); BV1-bytes / BV2-bytes are ours /
CLI request bytes (goal at most 1.0: never more bytes than the CLI). Without the
installed CLI (``make vercel-tools``) the figures are recorded as n/a with the reason.

Run with ``python bench/vercel_uploader.py``; figures go to ``bench/results/latest.json``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _results import record, summary

from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN, VercelEmulator

COMMAND = "python bench/vercel_uploader.py"
ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "tools" / "vercel-conformance" / "node_modules" / "vercel" / "dist" / "vc.js"
TEAM = "team_sandbox"
FILES = 500
REPEATS = 3
_OURS = """
import os, sys
from pathlib import Path
from pydantic import SecretStr
from orchestra_ops.adapters.app_source import deploy_files
from orchestra_ops.adapters.vercel import VercelClient
api, team, name, site = sys.argv[1:5]
client = VercelClient(api, SecretStr(os.environ["VERCEL_TOKEN"]), team_id=team)
try:
    print(client.create_deployment(name, deploy_files(Path(site))).url)
finally:
    client.close()
"""

Deployer = Callable[[str, Path, dict[str, str]], None]


def _site(root: Path, name: str) -> Path:
    """index.html and 499 assets of 1-3 KB each (about 1 MB)."""
    site = root / name
    (site / "assets").mkdir(parents=True)
    (site / "index.html").write_text("<html><body>bench release 1</body></html>")
    for n in range(FILES - 1):
        line = f"/* asset {n} */ .c{n} {{ margin: {n % 17}px; }}\n"
        (site / "assets" / f"a{n:03}.css").write_text(line * (20 + n % 40))
    return site


def _environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "NO_UPDATE_NOTIFIER": "1",
        "VERCEL_TELEMETRY_DISABLED": "1",
        "CI": "1",
        "VERCEL_TOKEN": VERCEL_SANDBOX_TOKEN,
        "PYTHONPATH": str(ROOT),
    }


def _cli(api: str, site: Path, env: dict[str, str]) -> None:
    command = ["node", str(CLI), "deploy", "--yes", "--api", api, "--token", env["VERCEL_TOKEN"]]
    command += ["--global-config", str(Path(env["HOME"]) / "cfg")]
    subprocess.run(command, cwd=site, env=env, check=True, capture_output=True, timeout=180)


def _ours(api: str, site: Path, env: dict[str, str]) -> None:
    command = [sys.executable, "-c", _OURS, api, TEAM, site.name, str(site)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=180)


def _measure(deploy: Deployer, root: Path, name: str) -> dict[str, dict[str, float]]:
    """One fresh emulator: first deploy, change 1 file, redeploy; measures of each."""
    emulator = VercelEmulator(token=VERCEL_SANDBOX_TOKEN, team_id=TEAM)
    site = _site(root, name)
    env = _environment(root / f"{name}-home")
    Path(env["HOME"]).mkdir()
    measures: dict[str, dict[str, float]] = {}
    with serve_in_thread(emulator.app(), name=f"bench-{name}") as api:
        for scenario in ("first", "change"):
            if scenario == "change":
                (site / "assets" / "a007.css").write_text("/* changed */\n")
            emulator.traffic.clear()
            started = time.monotonic()
            deploy(api.url, site, env)
            wall = time.monotonic() - started
            entries = emulator.traffic.entries()
            uploads = [e for e in entries if e.method == "POST" and e.path == "/v2/files"]
            measures[scenario] = {
                "files": len(uploads),
                "file_bytes": sum(e.request_bytes for e in uploads),
                "request_bytes": sum(e.request_bytes for e in entries),
                "requests": len(entries),
                "wall_s": wall,
            }
    return measures


def _median(runs: list[dict[str, dict[str, float]]], scenario: str) -> dict[str, float]:
    keys = runs[0][scenario]
    return {k: statistics.median(run[scenario][k] for run in runs) for k in keys}


def _describe(label: str, m: dict[str, float]) -> str:
    return (
        f"{label}: {m['files']:.0f} files, {m['file_bytes']:.0f} file bytes, "
        f"{m['request_bytes']:.0f} request bytes in {m['requests']:.0f} requests, "
        f"{m['wall_s']:.2f} s"
    )


def main() -> None:
    """Measure both clients REPEATS times and record the ratios."""
    if not CLI.exists():
        reason = "the Vercel CLI is not installed (make vercel-tools)"
        figures = [_figure(key, None, reason) for key in ("BV1", "BV2", "BV1-bytes", "BV2-bytes")]
        record(figures)
        print(reason)
        return
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"cli": [], "ours": []}
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-vercel-") as tmp:
        for n in range(REPEATS):
            runs["cli"].append(_measure(_cli, Path(tmp) / f"cli{n}", "bench-cli"))
            runs["ours"].append(_measure(_ours, Path(tmp) / f"ours{n}", "bench-ours"))
    figures = []
    for scenario, key in (("first", "BV1"), ("change", "BV2")):
        cli, ours = _median(runs["cli"], scenario), _median(runs["ours"], scenario)
        detail = f"{_describe('ours', ours)}; {_describe('CLI', cli)}; median of {REPEATS}"
        figures.append(_figure(key, round(ours["wall_s"] / cli["wall_s"], 2), detail))
        ratio = round(ours["request_bytes"] / cli["request_bytes"], 2)
        figures.append(_figure(f"{key}-bytes", ratio, detail))
    record(figures)
    for figure in figures:
        print(summary(figure))


def _figure(key: str, value: float | None, detail: str) -> dict[str, Any]:
    change = "a redeploy after 1 of 500 files changed"
    what = "first deploy of a 500-file site" if key.startswith("BV1") else change
    measure = "request bytes" if key.endswith("bytes") else "wall time"
    return {
        "key": key,
        "name": f"ours / Vercel CLI {measure}, {what}",
        "value": value,
        "unit": "ratio",
        "goal": "<= 1.0",
        "command": COMMAND,
        "detail": detail,
    }


if __name__ == "__main__":
    main()
