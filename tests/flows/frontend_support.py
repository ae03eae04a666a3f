"""Helpers the frontend flow tests share: the example app, parameters, what is served."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from flows.frontend_migration import FrontendMigrationParams
from flows.params import HealthParams
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp
from tests import loopback

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"


def copy_example(target: Path) -> Path:
    """A fresh copy of the example monorepo at ``target``."""
    shutil.copytree(EXAMPLE, target)
    return target


def params(
    repo: Path, backend: ServedApp, project: str = "orchestra-admin", **changes: object
) -> FrontendMigrationParams:
    """Migration parameters for the admin interface with quick health gates."""
    base: dict[str, object] = {
        "repo_path": str(repo),
        "app": "admin-interface",
        "project": project,
        "backend_api_url": backend.url,
        "env_overrides": {"VITE_API_URL": backend.url, "VITE_APP_TITLE": "Orchestra Admin"},
        "health": HealthParams(consecutive=2, interval_s=0.05, budget_s=5),
    }
    base.update(changes)
    return FrontendMigrationParams.model_validate(base)


def served(endpoints: Endpoints, project: str, path: str = "/") -> httpx.Response:
    """What production of ``project`` answers at ``path`` (through the sandbox edge)."""
    return loopback.get(
        f"{endpoints.vercel_edge_url}{path}", headers={"host": f"{project}.vercel.app"}
    )


def change_page(repo: Path, marker: str) -> None:
    """A new release: the admin page carries ``marker``."""
    index = repo / "admin-interface" / "index.html"
    index.write_text(index.read_text().replace("<title>", f"<!-- {marker} --><title>", 1))


def project_env(sandbox: Sandbox, project: str) -> dict[str, str]:
    """The project's env as the emulator stores it: key -> value (every target alike)."""
    state = sandbox.vercel.state
    with state.lock:
        ids = [pid for pid, p in state.projects.items() if p["name"] == project]
        return {e["key"]: e["value"] for pid in ids for e in state.envs.get(pid, [])}
