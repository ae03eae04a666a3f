"""Every app of tests/frontend_corpus planned as the flow plans it, against its expectation.

Fast: the adapters read the files, the pure planner decides; no Vercel, no build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestra_ops.adapters.app_source import find_workspace, read_app_texts, read_code_texts
from orchestra_ops.domain.frontend.migration import (
    MigrationPlan,
    plan_migration,
    project_settings,
    refusal,
)
from orchestra_ops.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[2] / "frontend_corpus"
API = "https://backend.example.com"
REPOS = sorted(p.name for p in CORPUS.iterdir() if (p / "expectation.json").is_file())


def _expect(repo: str) -> dict[str, Any]:
    return json.loads((CORPUS / repo / "expectation.json").read_text())


def _plan(repo: str, declared: tuple[str, ...] | None = None) -> MigrationPlan:
    root = CORPUS / repo
    app = root / _expect(repo)["app"]
    return plan_migration(
        _expect(repo)["app"],
        read_app_texts(app),
        API,
        [],
        {},
        code=read_code_texts(app),
        workspace=find_workspace(root, app),
        declared_prefixes=declared,
    )


def test_the_corpus_has_the_shapes_the_task_names() -> None:
    """At least the Vite proxy, Next basePath, workspace and unsupported shapes."""
    shapes = {
        "vite-backend-proxy",
        "next-basepath",
        "npm-workspace",
        "pnpm-workspace",
        "svelte-kit",
    }
    assert shapes <= set(REPOS)


@pytest.mark.parametrize("repo", REPOS)
def test_each_corpus_repo_is_planned_as_expected(repo: str) -> None:
    """Framework, API routes, base path, commands and unmet variables, as expected."""
    expected = _expect(repo)
    if "refused" in expected:
        with pytest.raises(ConfigError, match=expected["refused"]):
            _plan(repo)
        return
    plan = _plan(repo)
    assert plan.profile.framework == expected["framework"]
    assert list(plan.api_prefixes) == expected["api_prefixes"]
    assert plan.routes.base_path == expected["base_path"]
    assert [u.split(" (")[0] for u in plan.routes.unreadable] == expected["unreadable"]
    assert [r.key for r in plan.unmet] == expected["unmet"]
    optional = [r.key for r in plan.reads if not r.required]
    assert optional == expected["optional_reads"]
    assert plan.profile.install_command == expected["install_command"]
    assert plan.profile.build_command == expected["build_command"]
    assert plan.profile.workspace_root == expected.get("workspace_root")
    settings = project_settings(plan.profile)
    assert settings.node_version == expected.get("node_version")
    assert plan.profile.output_directory == expected.get("output_directory", "dist")
    stop = refusal(plan)
    assert (stop is None) == (not expected["unmet"] and not expected["unreadable"])
    for key in expected["unmet"]:
        assert stop is not None and key in stop
    if plan.profile.framework == "vite":
        rewrites = json.loads(plan.config_files["vercel.json"]).get("rewrites", [])
        sources = [r["source"] for r in rewrites]
        assert sources == expected.get(
            "rewrites", [*(f"{p}/:path*" for p in expected["api_prefixes"]), "/(.*)"]
        )


def test_the_vite_refusal_names_each_variable_and_where_the_code_reads_it() -> None:
    """The message a person acts on: key, file and line."""
    stop = refusal(_plan("vite-backend-proxy"))
    assert stop is not None
    assert "VITE_API_URL (read at src/client.ts:2)" in stop
    assert "VITE_ADMIN_API_KEY (read at src/client.ts:3)" in stop


def test_values_given_for_the_required_variables_clear_the_refusal() -> None:
    """Overrides (or values already on Vercel) are what the code needs."""
    root = CORPUS / "vite-backend-proxy"
    plan = plan_migration(
        ".",
        read_app_texts(root),
        API,
        [],
        {"VITE_API_URL": API, "VITE_ADMIN_API_KEY": "k-123"},
        code=read_code_texts(root),
    )
    assert refusal(plan) is None


def test_a_stripping_proxy_rewrite_reaches_the_backend_without_its_prefix() -> None:
    """`rewrite: (path) => path.replace(/^\\/rpc/, '')`: the backend sees /status."""
    config = json.loads(_plan("pnpm-workspace").config_files["vercel.json"])
    assert config["rewrites"][0] == {"source": "/rpc/:path*", "destination": f"{API}/:path*"}
    assert config["installCommand"] == "cd ../.. && pnpm install --frozen-lockfile"


def test_the_next_app_keeps_its_own_rewrites_and_only_loses_standalone() -> None:
    """No manual-edit stop: the app's rewrites route its API already."""
    plan = _plan("next-basepath")
    edited = plan.config_files["next.config.mjs"]
    assert "process.env.VERCEL ? {} : { output: 'standalone' }" in edited
    assert edited.count("async rewrites()") == 1
    assert "/api/:path*" not in edited


def test_an_unreadable_proxy_is_refused_until_the_prefixes_are_declared() -> None:
    """The plan says it cannot tell; declared prefixes replace the guess."""
    stop = refusal(_plan("vite-unreadable-proxy"))
    assert stop is not None and "api_prefixes" in stop and "vite.config.js" in stop
    declared = _plan("vite-unreadable-proxy", ("/metrics", "/alerts"))
    assert refusal(declared) is None
    assert declared.api_prefixes == ("/metrics", "/alerts")


def test_the_gate_finds_the_index_where_the_app_serves_it() -> None:
    """Next.js basePath moves the index; a Vite base does not (files served from /)."""
    from orchestra_ops.domain.frontend.gate import index_check
    from orchestra_ops.domain.health import HealthPolicy

    assert _plan("next-basepath").site_path == "/portal"
    assert _plan("vite-backend-proxy").site_path == ""
    check = index_check("https://p.vercel.app/", HealthPolicy(), None, "/portal")
    assert check.url == "https://p.vercel.app/portal/"
