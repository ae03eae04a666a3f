"""The sandbox edge: real uploaded bytes served by Host header, with vercel.json applied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator
from tests import loopback

TOKEN = "edge-test-token"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Site:
    """An emulator with its API and edge served, and helpers to deploy and fetch."""

    def __init__(self, emulator: VercelEmulator, clock: FakeClock, api: str, edge: str) -> None:
        self.emulator = emulator
        self.clock = clock
        self.edge = edge
        self.api = loopback.Client(base_url=api, headers={"Authorization": f"Bearer {TOKEN}"})

    def deploy(self, files: dict[str, Any], *, ready: bool = True, **extra: Any) -> dict[str, Any]:
        encoded = {
            path: json.dumps(data) if isinstance(data, dict) else data
            for path, data in files.items()
        }
        body = {
            "name": extra.pop("name", "web"),
            "files": [{"file": p, "data": d, "encoding": "utf-8"} for p, d in encoded.items()],
            **extra,
        }
        answer = self.api.post("/v13/deployments", json=body)
        assert answer.status_code == 200, answer.text
        if ready:
            self.clock.now += 11
        return answer.json()  # type: ignore[no-any-return]

    def get(self, host: str, path: str = "/", **options: Any) -> httpx.Response:
        return loopback.get(f"{self.edge}{path}", headers={"host": host}, **options)


@pytest.fixture
def site() -> Iterator[Site]:
    clock = FakeClock()
    emulator = VercelEmulator(token=TOKEN, build_delay_s=10.0, clock=clock)
    with serve_in_thread(emulator.app()) as api, serve_in_thread(emulator.edge_app()) as edge:
        served = Site(emulator, clock, api.url, edge.url)
        yield served
        served.api.close()


@pytest.fixture
def backend() -> Iterator[ServedApp]:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {"path": request.url.path, "query": request.url.query},
            headers={"X-Backend": "yes"},
        )

    app = Starlette(routes=[Route("/{rest:path}", echo, methods=["GET", "POST"])])
    with serve_in_thread(app) as served:
        yield served


def test_serves_uploaded_bytes_from_the_output_directory(site: Site) -> None:
    """The deployment url serves its own files, rooted at outputDirectory."""
    dep = site.deploy(
        {"dist/index.html": "<h1>v1</h1>", "dist/app.js": "console.log(1)", "src/main.ts": "x"},
        projectSettings={"outputDirectory": "dist"},
    )
    page = site.get(dep["url"])
    assert (page.status_code, page.text) == (200, "<h1>v1</h1>")
    assert page.headers["content-type"].startswith("text/html")
    script = site.get(dep["url"], "/app.js")
    assert script.text == "console.log(1)"
    assert site.get(dep["url"], "/src/main.ts").status_code == 404


def test_vercel_json_output_directory_is_used_too(site: Site) -> None:
    """vercel.json's outputDirectory roots the site when projectSettings do not say."""
    dep = site.deploy({"vercel.json": {"outputDirectory": "out"}, "out/index.html": "from out"})
    assert site.get(dep["url"]).text == "from out"


def test_a_monorepo_upload_is_built_and_served_from_its_root_directory(site: Site) -> None:
    """Root Directory: its vercel.json and output directory count, the rest of the
    workspace is uploaded but never served; a Root Directory not in the upload fails."""
    workspace = {
        "package-lock.json": "{}",
        "packages/ui/index.js": "export {}",
        "vercel.json": {"outputDirectory": "wrong"},
        "apps/web/vercel.json": {"rewrites": [{"source": "/(.*)", "destination": "/"}]},
        "apps/web/dist/index.html": "<h1>web</h1>",
    }
    settings = {"rootDirectory": "apps/web", "outputDirectory": "dist"}
    dep = site.deploy(workspace, projectSettings=settings)
    assert site.get(dep["url"]).text == "<h1>web</h1>"
    assert site.get(dep["url"], "/deep/link").text == "<h1>web</h1>"  # its vercel.json
    assert site.get(dep["url"], "/packages/ui/index.js").text == "<h1>web</h1>"

    missing = site.deploy(workspace, projectSettings={"rootDirectory": "apps/shop"})
    failed = site.api.get(f"/v13/deployments/{missing['id']}").json()
    assert failed["readyState"] == "ERROR"
    assert failed["errorMessage"] == (
        'The specified Root Directory "apps/shop" does not exist. '
        "Please update your Project Settings."
    )


def test_unknown_host_is_deployment_not_found(site: Site) -> None:
    """A host no deployment or alias owns answers 404 DEPLOYMENT_NOT_FOUND."""
    answer = site.get("nobody.vercel.app")
    assert answer.status_code == 404
    assert answer.headers["x-vercel-error"] == "DEPLOYMENT_NOT_FOUND"
    assert "DEPLOYMENT_NOT_FOUND" in answer.text


def test_building_and_failed_deployments_get_error_pages(site: Site) -> None:
    """Not READY yet -> 503; ERROR -> 502; both Vercel-like pages."""
    building = site.deploy({"index.html": "x"}, ready=False)
    assert site.get(building["url"]).status_code == 503
    site.emulator.fail_next_builds(1, "boom")
    failed = site.deploy({"index.html": "x"})
    answer = site.get(failed["url"])
    assert (answer.status_code, answer.headers["x-vercel-error"]) == (502, "DEPLOYMENT_FAILED")
    assert site.get(building["url"]).status_code == 200


def test_rewrite_proxies_to_a_loopback_backend(site: Site, backend: ServedApp) -> None:
    """/api/:path* -> http://127.0.0.1:<port>/:path* is fetched and passed back."""
    config = {"rewrites": [{"source": "/api/:path*", "destination": f"{backend.url}/v1/:path*"}]}
    dep = site.deploy({"vercel.json": config, "index.html": "home"})
    answer = site.get(dep["url"], "/api/users/7?full=1")
    assert answer.status_code == 200
    assert answer.json() == {"path": "/v1/users/7", "query": "full=1"}
    assert answer.headers["x-backend"] == "yes"


def test_rewrite_to_the_internet_is_502(site: Site) -> None:
    """External destinations cannot be reached from the sandbox: a clear 502."""
    config = {"rewrites": [{"source": "/ext/(.*)", "destination": "https://example.com/$1"}]}
    dep = site.deploy({"vercel.json": config})
    answer = site.get(dep["url"], "/ext/a")
    assert answer.status_code == 502
    assert "no internet" in answer.text and "https://example.com/a" in answer.text


def test_spa_fallback_redirects_headers_and_clean_urls(site: Site) -> None:
    """One vercel.json exercising the modern keys at the edge."""
    config = {
        "cleanUrls": True,
        "rewrites": [{"source": "/(.*)", "destination": "/index.html"}],
        "redirects": [{"source": "/old/:slug", "destination": "/new/:slug", "permanent": False}],
        "headers": [{"source": "/(.*)", "headers": [{"key": "X-Site", "value": "web"}]}],
    }
    dep = site.deploy({"vercel.json": config, "index.html": "spa", "about.html": "about"})
    deep = site.get(dep["url"], "/dashboard/users/3")
    assert (deep.status_code, deep.text, deep.headers["x-site"]) == (200, "spa", "web")
    assert site.get(dep["url"], "/about").text == "about"
    clean = site.get(dep["url"], "/about.html")
    assert (clean.status_code, clean.headers["location"]) == (308, "/about")
    moved = site.get(dep["url"], "/old/post")
    assert (moved.status_code, moved.headers["location"]) == (307, "/new/post")
    assert moved.headers["x-site"] == "web"


def test_trailing_slash_redirect(site: Site) -> None:
    """trailingSlash: true redirects /docs to /docs/ and serves its index."""
    dep = site.deploy({"vercel.json": {"trailingSlash": True}, "docs/index.html": "docs"})
    redirect = site.get(dep["url"], "/docs")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/docs/")
    assert site.get(dep["url"], "/docs/").text == "docs"


def test_rollback_changes_what_the_production_domain_serves(site: Site) -> None:
    """web.vercel.app follows the production alias: deploy, roll back, promote."""
    v1 = site.deploy({"index.html": "v1"}, target="production")
    assert site.get("web.vercel.app").text == "v1"
    v2 = site.deploy({"index.html": "v2"}, target="production")
    assert site.get("web.vercel.app").text == "v2"
    assert site.api.post(f"/v1/projects/web/rollback/{v1['id']}").status_code == 201
    assert site.get("web.vercel.app").text == "v1"
    assert site.get(v2["url"]).text == "v2"
    assert site.api.post(f"/v10/projects/web/promote/{v2['id']}").status_code == 201
    assert site.get("web.vercel.app").text == "v2"


def test_custom_alias_serves_its_deployment(site: Site) -> None:
    """An alias assigned through the API is served at the edge."""
    dep = site.deploy({"index.html": "aliased"})
    site.api.post(f"/v2/deployments/{dep['id']}/aliases", json={"alias": "admin.example.test"})
    assert site.get("admin.example.test").text == "aliased"


def test_health_modes_fail_slow_recover(site: Site) -> None:
    """fail -> 500; slow -> a short client timeout expires; recover -> 200 again."""
    dep = site.deploy({"index.html": "ok"})
    site.emulator.set_deployment_health(dep["id"], "fail")
    failing = site.get(dep["url"])
    assert (failing.status_code, failing.headers["x-vercel-error"]) == (
        500,
        "FUNCTION_INVOCATION_FAILED",
    )
    site.emulator.set_deployment_health(dep["id"], "slow", delay_s=0.5)
    with pytest.raises(httpx.ReadTimeout):
        site.get(dep["url"], timeout=0.1)
    site.emulator.set_deployment_health(dep["id"], "recover")
    assert site.get(dep["url"]).text == "ok"
    with pytest.raises(ValueError, match="health mode"):
        site.emulator.set_deployment_health(dep["id"], "sideways")


def test_nextjs_build_output_serves_prerendered_pages_and_assets(site: Site) -> None:
    """A Next.js deployment answers with its prerendered HTML, /_next/static and public/."""
    deployment = site.deploy(
        {
            "package.json": "{}",
            ".next/server/app/index.html": "<h1>Orchestra Dashboard</h1>",
            ".next/server/app/agents.html": "<h1>Agents</h1>",
            ".next/server/app/page.js": "server code, not served",
            ".next/static/chunks/main-abc.js": "console.log(1)",
            "public/robots.txt": "User-agent: *",
        },
        projectSettings={"framework": "nextjs"},
    )
    host = deployment["url"]
    assert "Orchestra Dashboard" in site.get(host, "/").text
    assert site.get(host, "/agents.html").text == "<h1>Agents</h1>"
    assert site.get(host, "/_next/static/chunks/main-abc.js").text == "console.log(1)"
    assert site.get(host, "/robots.txt").text == "User-agent: *"
    assert site.get(host, "/page.js").status_code == 404


def test_health_mode_by_hostname_affects_only_that_host(site: Site) -> None:
    """Production's domain can fail while the deployment's own URL stays healthy."""
    deployment = site.deploy({"index.html": "<h1>ok</h1>"}, name="web", target="production")
    site.emulator.set_deployment_health("web.vercel.app", "fail")
    assert site.get("web.vercel.app").status_code == 500
    assert site.get(deployment["url"]).status_code == 200
    site.emulator.set_deployment_health("web.vercel.app", "recover")
    assert site.get("web.vercel.app").status_code == 200


def test_a_nextjs_build_routes_its_own_rewrites_after_its_pages(
    site: Site, backend: ServedApp
) -> None:
    """next.config rewrites reach the edge through .next/routes-manifest.json, as on Vercel."""
    manifest = {
        "version": 3,
        "rewrites": {
            "beforeFiles": [],
            "afterFiles": [{"source": "/api/:path*", "destination": f"{backend.url}/api/:path*"}],
            "fallback": [],
        },
    }
    deployment = site.deploy(
        {
            ".next/server/app/index.html": "<html>dashboard</html>",
            ".next/routes-manifest.json": manifest,
        }
    )
    assert site.get(deployment["url"]).text == "<html>dashboard</html>"
    proxied = site.get(deployment["url"], "/api/agents/7?x=1")
    assert proxied.json() == {"path": "/api/agents/7", "query": "x=1"}
    assert site.get(deployment["url"], "/.next/routes-manifest.json").status_code == 404
