"""Vercel's own CLI and SDK (pinned in tools/vercel-conformance) and a served emulator.

Shared by test_vercel_cli.py and test_vercel_sdk.py. When ``make vercel-tools`` could
not install the tools (no npm registry), :func:`missing_reason` says why and the tests
skip with that reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN, VercelEmulator
from tests import loopback

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "vercel-conformance"
CLI = TOOLS / "node_modules" / "vercel" / "dist" / "vc.js"
SDK = TOOLS / "node_modules" / "@vercel" / "sdk" / "package.json"
TEAM = "team_sandbox"


def missing_reason(needed: Path) -> str | None:
    """Why the tools cannot run here (node missing, npm install failed), or None."""
    if shutil.which("node") is None:
        return "node is not on PATH: the Vercel CLI and SDK conformance tests need it"
    if needed.exists():
        return None
    log = TOOLS / ".install.log"
    detail = ""
    if log.exists():
        errors = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        detail = f"; last npm output: {errors[-1][:200]}" if errors else ""
    return f"{needed.relative_to(TOOLS)} is not installed: `make vercel-tools` failed{detail}"


@dataclass
class Served:
    """A Vercel emulator (with a team) served on loopback: API and edge."""

    emulator: VercelEmulator
    api_url: str
    edge_url: str

    def api(self, *, team: bool = True) -> httpx.Client:
        """An authorised API client, in the team's scope unless ``team`` is False."""
        params = {"teamId": TEAM} if team else {}
        return loopback.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {VERCEL_SANDBOX_TOKEN}"},
            params=params,
            timeout=10,
        )

    def edge(self, host: str, path: str = "/") -> httpx.Response:
        """What the edge serves for ``host`` at ``path`` (redirects not followed)."""
        host = host.removeprefix("https://").rstrip("/")
        return loopback.get(self.edge_url + path, headers={"Host": host}, timeout=10)


@contextmanager
def served_emulator(build_delay_s: float = 0.0) -> Iterator[Served]:
    """Serve a fresh emulator with the sandbox token and team; stop it afterwards."""
    emulator = VercelEmulator(token=VERCEL_SANDBOX_TOKEN, team_id=TEAM, build_delay_s=build_delay_s)
    with (
        serve_in_thread(emulator.app(), name="vercel-api") as api,
        serve_in_thread(emulator.edge_app(), name="vercel-edge") as edge,
    ):
        yield Served(emulator, api.url, edge.url)
