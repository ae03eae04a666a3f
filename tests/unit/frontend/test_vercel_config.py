"""vercel.json generation, legacy translation, and the mixed-routing refusal."""

from __future__ import annotations

from typing import Any

import pytest

from orchestra_ops.domain.frontend.api_routes import ApiRoute, ApiRoutes
from orchestra_ops.domain.frontend.detect import AppProfile, Framework, PackageManager
from orchestra_ops.domain.frontend.vercel_config import (
    SCHEMA_URL,
    check_not_mixed,
    generate_vercel_json,
    translate_legacy,
)
from orchestra_ops.errors import ConfigError

API = "https://api.cherry-ai.me"
API_ROUTES = ApiRoutes((ApiRoute("/api"),))


def _profile(framework: Framework = Framework.VITE) -> AppProfile:
    return AppProfile(
        name="admin-interface",
        framework=framework,
        build_command="npm run build",
        install_command="npm ci",
        output_directory="dist" if framework is Framework.VITE else ".next",
        package_manager=PackageManager.NPM,
        node_engine=None,
        lockfile="package-lock.json",
    )


PLAN_LEGACY_EXAMPLE: dict[str, Any] = {
    "version": 2,
    "builds": [
        {"src": "package.json", "use": "@vercel/static-build", "config": {"distDir": "dist"}}
    ],
    "routes": [
        {"src": "/api/(.*)", "dest": "https://api.cherry-ai.me/api/$1"},
        {"src": "/(.*)", "dest": "/index.html"},
    ],
}


def test_vite_app_gets_api_rewrite_and_spa_fallback_in_modern_keys() -> None:
    """No routes, no builds: rewrites for /api and the SPA fallback, last."""
    config = generate_vercel_json(_profile(), API, None, API_ROUTES)
    assert config["$schema"] == SCHEMA_URL
    assert config["framework"] == "vite"
    assert config["buildCommand"] == "npm run build"
    assert config["outputDirectory"] == "dist"
    assert config["rewrites"] == [
        {"source": "/api/:path*", "destination": f"{API}/api/:path*"},
        {"source": "/(.*)", "destination": "/index.html"},
    ]
    assert not set(config) & {"routes", "builds", "version"}


def test_nextjs_app_gets_no_rewrites_and_no_output_directory() -> None:
    """Next.js rewrites live in next.config; Vercel knows where Next builds to."""
    config = generate_vercel_json(_profile(Framework.NEXTJS), API)
    assert config["framework"] == "nextjs"
    assert "rewrites" not in config
    assert "outputDirectory" not in config


def test_the_plans_legacy_example_is_translated_not_copied() -> None:
    """builds/routes become outputDirectory and rewrites; the result is modern only."""
    translated = translate_legacy(PLAN_LEGACY_EXAMPLE, "vercel.json")
    assert translated == {
        "outputDirectory": "dist",
        "rewrites": [{"source": "/api/:path*", "destination": f"{API}/api/:path*"}],
    }
    config = generate_vercel_json(
        _profile(), "http://127.0.0.1:9999", PLAN_LEGACY_EXAMPLE, API_ROUTES
    )
    assert config["rewrites"][0]["destination"] == "http://127.0.0.1:9999/api/:path*"
    assert [r["source"] for r in config["rewrites"]] == ["/api/:path*", "/(.*)"]


def test_unowned_keys_of_an_existing_file_are_kept() -> None:
    """A team's own redirects or regions survive the migration."""
    existing = {"regions": ["iad1"], "redirects": [{"source": "/old", "destination": "/"}]}
    config = generate_vercel_json(_profile(), API, existing)
    assert config["regions"] == ["iad1"]
    assert config["redirects"] == existing["redirects"]


def test_mixed_routing_is_refused_naming_the_keys() -> None:
    """routes + headers + cleanUrls: the error names all three."""
    mixed = {"routes": [], "headers": [], "cleanUrls": True}
    with pytest.raises(ConfigError) as caught:
        check_not_mixed(mixed, "admin-interface/vercel.json")
    message = str(caught.value)
    assert message.startswith("admin-interface/vercel.json: `routes` cannot be used")
    assert "`headers`" in message and "`cleanUrls`" in message
    with pytest.raises(ConfigError, match="FUNCTIONS_AND_BUILDS"):
        check_not_mixed({"functions": {}, "builds": []}, "vercel.json")


@pytest.mark.parametrize(
    "route",
    [
        {"src": "/a/(.*)/b/(.*)", "dest": "/x/$1/$2"},
        {"src": "/api/(.*)", "dest": "/x/$1", "headers": {"x": "y"}},
        "not-a-route",
    ],
)
def test_routes_that_cannot_be_translated_safely_are_refused(route: Any) -> None:
    """Anything beyond plain src -> dest needs a person."""
    with pytest.raises(ConfigError, match="by hand"):
        translate_legacy({"routes": [route]}, "vercel.json")


@pytest.mark.parametrize("framework", [Framework.VITE, Framework.NEXTJS])
def test_regenerating_from_the_generated_file_is_byte_identical(framework: Framework) -> None:
    """A re-run reads back what it wrote and must write exactly the same bytes."""
    import json

    first = generate_vercel_json(_profile(framework), API, {"regions": ["iad1"]})
    second = generate_vercel_json(_profile(framework), API, first)
    assert json.dumps(second) == json.dumps(first)


def test_every_detected_route_gets_its_rewrite_before_the_spa_fallback() -> None:
    """/backend (kept), /v2 (stripped) and a base path: none swallowed by the catch-all."""
    routes = ApiRoutes((ApiRoute("/backend"), ApiRoute("/v2", strip=True)), "/admin")
    config = generate_vercel_json(_profile(), API, None, routes)
    assert config["rewrites"] == [
        {"source": "/backend/:path*", "destination": f"{API}/backend/:path*"},
        {"source": "/v2/:path*", "destination": f"{API}/:path*"},
        {"source": "/admin/:file(.*\\..*)", "destination": "/:file"},
        {"source": "/(.*)", "destination": "/index.html"},
    ]
    again = generate_vercel_json(_profile(), API, config, routes)
    assert again == config


def test_without_detected_routes_no_api_rewrite_is_assumed() -> None:
    """No proxy in the config: no /api rewrite is invented; a team's own is kept."""
    assert generate_vercel_json(_profile(), API)["rewrites"] == [
        {"source": "/(.*)", "destination": "/index.html"}
    ]
    own = {"rewrites": [{"source": "/svc/:path*", "destination": "https://svc.example/:path*"}]}
    kept = generate_vercel_json(_profile(), API, own)["rewrites"]
    assert kept[0] == own["rewrites"][0]
