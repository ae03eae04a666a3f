"""The frontend migration over corpus apps it was not built beside, on the Vercel sandbox.

Each test reads the app's expectation (tests/frontend_corpus/<repo>/expectation.json) and
checks the run does that: refusals leave zero mutating requests in the emulator's own
traffic log (GET <admin>/vercel/traffic), a migration serves every detected API route
through the rewrite at production.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.frontend_migration import FrontendMigrationParams, HealthParams, frontend_migration
from orchestra_ops.errors import ConfigError
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp
from tests import loopback

CORPUS = Path(__file__).resolve().parents[1] / "frontend_corpus"
HAS_NODE = shutil.which("npm") is not None and shutil.which("node") is not None

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


@pytest.fixture(autouse=True)
def sandbox_env(
    sandbox: tuple[Sandbox, Endpoints],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _, endpoints = sandbox
    for name, value in endpoints.as_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path_factory.getbasetemp() / "state"))


def _repo(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(CORPUS / name, tmp_path / name))


def _params(
    repo: Path, app: str, project: str, backend: ServedApp, **more: object
) -> FrontendMigrationParams:
    return FrontendMigrationParams.model_validate(
        {
            "repo_path": str(repo),
            "app": app,
            "project": project,
            "backend_api_url": backend.url,
            "health": HealthParams(consecutive=2, interval_s=0.05, budget_s=5, api_probe="health"),
            **more,
        }
    )


def _traffic(endpoints: Endpoints) -> list[dict[str, object]]:
    answer = loopback.get(f"{endpoints.admin_url}/vercel/traffic")
    answer.raise_for_status()
    return list(answer.json()["entries"])


def _clear(endpoints: Endpoints) -> None:
    loopback.delete(f"{endpoints.admin_url}/vercel/traffic").raise_for_status()


def _mutating(endpoints: Endpoints) -> list[str]:
    return [
        f"{e['method']} {e['path']}"
        for e in _traffic(endpoints)
        if e["method"] not in ("GET", "HEAD")
    ]


def _only_deployment(runner: Sandbox, name: str) -> tuple[Any, dict[str, Any]]:
    """The one deployment of project ``name`` in the emulator, and the project."""
    with runner.vercel.state.lock:
        (upload,) = [d for d in runner.vercel.state.deployments.values() if d.name == name]
        return upload, runner.vercel.state.projects[upload.project_id]


def _served(endpoints: Endpoints, project: str, path: str) -> httpx.Response:
    return loopback.get(
        f"{endpoints.vercel_edge_url}{path}", headers={"host": f"{project}.vercel.app"}
    )


def test_vite_backend_proxy_refused_without_its_variables_then_migrated(
    sandbox: tuple[Sandbox, Endpoints], backend: ServedApp, tmp_path: Path
) -> None:
    """/backend and /files from vite.config.mts reach production through the rewrite."""
    _, endpoints = sandbox
    repo = _repo(tmp_path, "vite-backend-proxy")
    project = "ledger-console"
    _clear(endpoints)
    bare = _params(repo.parent, repo.name, project, backend, preflight=False)
    with pytest.raises(ConfigError, match=r"VITE_ADMIN_API_KEY \(read at src/client.ts:3\)"):
        frontend_migration(bare)
    assert _mutating(endpoints) == []
    assert not (repo / "vercel.json").exists()  # nothing written in the repo either

    values = {"VITE_API_URL": backend.url, "VITE_ADMIN_API_KEY": "k-7f3a"}
    params = _params(
        repo.parent, repo.name, project, backend, preflight=False, env_overrides=values
    )
    report = frontend_migration(params)
    assert report.outcome == "migrated", report
    assert any("API route /backend through the rewrite" in line for line in report.gate)
    assert any("API route /files through the rewrite" in line for line in report.gate)
    health = _served(endpoints, project, "/backend/health")
    assert health.headers["content-type"].startswith("application/json")
    assert health.json() == {"status": "ok", "path": "/backend/health"}
    assert _served(endpoints, project, "/files/r-1.pdf").json()["path"] == "/files/r-1.pdf"
    assert "Ledger Console" in _served(endpoints, project, "/admin/index.html").text


def test_unsupported_and_unmet_apps_are_refused_before_any_vercel_change(
    sandbox: tuple[Sandbox, Endpoints], backend: ServedApp, tmp_path: Path
) -> None:
    """SvelteKit by name (not a single request); Next.js with BILLING_URL unmet."""
    runner, endpoints = sandbox
    svelte = _repo(tmp_path, "svelte-kit")
    _clear(endpoints)
    with pytest.raises(ConfigError, match="SvelteKit is not supported"):
        frontend_migration(_params(svelte.parent, svelte.name, "field-notes", backend))
    assert _traffic(endpoints) == []

    portal = _repo(tmp_path, "next-basepath")
    planned = frontend_migration(
        _params(portal.parent, portal.name, "partner-portal", backend, plan_only=True)
    )
    assert planned.outcome == "planned"
    assert "API routes to the backend: /portal/svc (served under /portal)" in planned.plan
    assert "required, no value: BILLING_URL" in planned.plan
    assert (
        planned.error is not None
        and "BILLING_URL (read at app/api/ping/route.ts:2)" in planned.error
    )
    with pytest.raises(ConfigError, match="BILLING_URL"):
        frontend_migration(_params(portal.parent, portal.name, "partner-portal", backend))
    assert _mutating(endpoints) == []
    with runner.vercel.state.lock:
        names = {p["name"] for p in runner.vercel.state.projects.values()}
    assert not names & {"field-notes", "partner-portal"}


@pytest.mark.node
@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_npm_workspace_member_is_built_at_its_workspace_root_and_migrated(
    sandbox: tuple[Sandbox, Endpoints], backend: ServedApp, tmp_path: Path
) -> None:
    """apps/web with the lockfile at the root: npm ci there, the member's build there."""
    runner, endpoints = sandbox
    repo = _repo(tmp_path, "npm-workspace")
    main = repo / "apps" / "web" / "src" / "main.js"
    good = main.read_text()
    main.write_text(good + "\nexport const broken = (\n")  # the build fails on it
    _clear(endpoints)
    with pytest.raises(ConfigError, match=r"preflight `npm run build --workspace=apps/web` failed"):
        frontend_migration(_params(repo, "apps/web", "shop-web", backend))
    assert _mutating(endpoints) == []  # the build ran before the project would be created
    with runner.vercel.state.lock:
        assert "shop-web" not in {p["name"] for p in runner.vercel.state.projects.values()}
    main.write_text(good)
    report = frontend_migration(_params(repo, "apps/web", "shop-web", backend))
    assert report.outcome == "migrated", report
    assert report.preflight.startswith(
        "built: `npm ci && npm run build --workspace=apps/web` passed at the workspace root"
    )
    page = _served(endpoints, "shop-web", "/")
    assert '<script type="module" crossorigin src="/assets/' in page.text  # the built bundle
    assert _served(endpoints, "shop-web", "/api/health").json()["path"] == "/api/health"
    # As Vercel builds a monorepo: the whole workspace uploaded, Root Directory the member.
    upload, project = _only_deployment(runner, "shop-web")
    assert {"package-lock.json", "packages/ui/package.json", "apps/web/vercel.json"} <= set(
        upload.files
    )
    assert upload.project_settings["rootDirectory"] == project["rootDirectory"] == "apps/web"


def test_an_unreadable_proxy_is_refused_until_the_prefixes_are_given(
    sandbox: tuple[Sandbox, Endpoints], backend: ServedApp, tmp_path: Path
) -> None:
    """The proxy table is a variable: no guess at /api; the given prefixes are probed."""
    _, endpoints = sandbox
    repo = _repo(tmp_path, "vite-unreadable-proxy")
    _clear(endpoints)
    with pytest.raises(ConfigError, match=r"server\.proxy is not an object literal"):
        frontend_migration(_params(repo.parent, repo.name, "ops-metrics", backend, preflight=False))
    assert _mutating(endpoints) == []

    given = _params(
        repo.parent,
        repo.name,
        "ops-metrics",
        backend,
        preflight=False,
        api_prefixes=["/metrics", "/alerts"],
    )
    report = frontend_migration(given)
    assert report.outcome == "migrated", report
    for prefix in ("/metrics", "/alerts"):
        assert any(f"API route {prefix} through the rewrite" in line for line in report.gate)
        assert _served(endpoints, "ops-metrics", f"{prefix}/x").json()["path"] == f"{prefix}/x"


def test_a_pnpm_workspace_member_is_uploaded_whole_with_its_root_directory(
    sandbox: tuple[Sandbox, Endpoints], backend: ServedApp, tmp_path: Path
) -> None:
    """apps/board: the workspace uploaded, Root Directory and Node 20.x set, /rpc sent to
    the backend without its prefix. (Its pnpm build is tests/adapters/test_node_build.py.)"""
    runner, endpoints = sandbox
    repo = _repo(tmp_path, "pnpm-workspace")
    report = frontend_migration(_params(repo, "apps/board", "board", backend, preflight=False))
    assert report.outcome == "migrated", report
    assert _served(endpoints, "board", "/rpc/items").json()["path"] == "/items"
    upload, project = _only_deployment(runner, "board")
    assert {"pnpm-lock.yaml", "pnpm-workspace.yaml", "apps/board/index.html"} <= set(upload.files)
    assert upload.project_settings["rootDirectory"] == project["rootDirectory"] == "apps/board"
    assert project["nodeVersion"] == "20.x"
    assert upload.project_settings["installCommand"] == (
        "cd ../.. && pnpm install --frozen-lockfile"
    )
