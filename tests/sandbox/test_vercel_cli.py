"""Vercel's own CLI (the pinned npm ``vercel``) against the sandbox emulator, no stand-in.

One project is taken through deploys, promote, rollback, env vars, pull, ls, inspect and
alias set, in order; each command's result is checked at the edge (what is served) and
through the API (what changed). The CLI runs with a temporary HOME and global config,
update checks and telemetry off, and a minimal environment (no real Vercel token).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN
from tests.sandbox.vercel_tools import CLI, TEAM, Served, missing_reason, served_emulator

pytestmark = [
    pytest.mark.node,
    pytest.mark.slow,
    pytest.mark.skipif(missing_reason(CLI) is not None, reason=str(missing_reason(CLI))),
]
_URL = re.compile(r"https://[a-z0-9.-]+\.vercel\.app")


@dataclass
class World:
    """The served emulator, the CLI's home and a project directory, plus what was deployed."""

    served: Served
    home: Path
    site: Path
    urls: dict[str, str] = field(default_factory=dict)

    def vercel(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the CLI; a non-zero exit fails the test with the CLI's own error output."""
        command = ["node", str(CLI), *args, "--api", self.served.api_url]
        command += ["--token", VERCEL_SANDBOX_TOKEN, "--global-config", str(self.home / "cfg")]
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "NO_UPDATE_NOTIFIER": "1",
            "VERCEL_TELEMETRY_DISABLED": "1",
            "CI": "1",
            "NO_COLOR": "1",
        }
        result = subprocess.run(
            command,
            cwd=cwd or self.site,
            env=environment,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"vercel {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def deploy(self, content: str, *flags: str) -> str:
        """Write index.html, deploy with ``flags``; returns the deployment's URL (stdout)."""
        (self.site / "index.html").write_text(content)
        url = self.vercel("deploy", "--yes", *flags).stdout.strip()
        assert _URL.fullmatch(url), url
        return url

    def deployment(self, url: str) -> dict[str, Any]:
        """The deployment as the API shows it (team scope)."""
        with self.served.api() as api:
            return api.get(f"/v13/deployments/{url.removeprefix('https://')}").json()  # type: ignore[no-any-return]

    def project(self, name: str = "site") -> dict[str, Any]:
        """The project as the API shows it (team scope)."""
        with self.served.api() as api:
            return api.get(f"/v9/projects/{name}").json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("vercel-cli")
    (root / "home").mkdir()
    (root / "site").mkdir()
    with served_emulator() as served:
        yield World(served, root / "home", root / "site")


def test_identity_whoami_and_teams(world: World) -> None:
    """whoami names the token's user; teams ls lists the sandbox team."""
    assert world.vercel("whoami").stdout.strip() == "sandbox-dev"
    teams = world.vercel("teams", "ls")
    assert re.search(r"sandbox\s+Sandbox Team\s+pro", teams.stdout + teams.stderr)


def test_preview_deploy_is_served_and_owned_by_the_team(world: World) -> None:
    """A first deploy creates the project in the team (invisible in personal scope)."""
    url = world.deploy("<h1>preview one</h1>")
    world.urls["preview"] = url
    assert world.served.edge(url).text == "<h1>preview one</h1>"
    deployment = world.deployment(url)
    assert (deployment["readyState"], deployment["target"]) == ("READY", None)
    assert deployment["ownerId"] == TEAM and deployment["team"]["id"] == TEAM
    assert world.project()["accountId"] == TEAM
    with world.served.api(team=False) as personal:
        assert personal.get("/v9/projects/site").status_code == 404
    missing = world.served.edge("site.vercel.app")
    assert missing.headers["x-vercel-error"] == "DEPLOYMENT_NOT_FOUND"


def test_prod_deploy_moves_production_and_the_cli_prints_its_domain(world: World) -> None:
    """deploy --prod: site.vercel.app serves it, the CLI names that domain, targets move."""
    (world.site / "index.html").write_text("<h1>prod one</h1>")
    result = world.vercel("deploy", "--prod", "--yes")
    url = result.stdout.strip()
    world.urls["prod1"] = url
    assert "Aliased" in result.stderr and "https://site.vercel.app" in result.stderr
    assert world.served.edge("site.vercel.app").text == "<h1>prod one</h1>"
    deployment = world.deployment(url)
    assert deployment["alias"][0] == "site.vercel.app"
    assert world.project()["targets"]["production"]["id"] == deployment["id"]


def test_skip_domain_leaves_production_where_it_was(world: World) -> None:
    """deploy --prod --skip-domain: READY but STAGED; production still serves the old one."""
    url = world.deploy("<h1>prod two</h1>", "--prod", "--skip-domain")
    world.urls["prod2"] = url
    assert world.served.edge(url).text == "<h1>prod two</h1>"
    assert world.served.edge("site.vercel.app").text == "<h1>prod one</h1>"
    deployment = world.deployment(url)
    assert (deployment["target"], deployment["readySubstate"]) == ("production", "STAGED")
    assert "site.vercel.app" not in deployment["alias"]


def test_promote_moves_production_to_the_staged_deployment(world: World) -> None:
    """promote: production serves the staged deployment; lastAliasRequest says promote."""
    world.vercel("promote", world.urls["prod2"], "--yes")
    assert world.served.edge("site.vercel.app").text == "<h1>prod two</h1>"
    request = world.project()["lastAliasRequest"]
    promoted = world.deployment(world.urls["prod2"])["id"]
    assert (request["type"], request["toDeploymentId"]) == ("promote", promoted)


def test_promote_of_a_preview_redeploys_it_to_production(world: World) -> None:
    """promote of a preview: a new production deployment of the same files takes over."""
    result = world.vercel("promote", world.urls["preview"], "--yes")
    created = re.search(r"(?m)new deployment of site at \S+/(\w+)$", result.stderr)
    assert created, result.stderr
    redeployed = world.deployment("dpl_" + created.group(1))
    assert (redeployed["target"], redeployed["meta"]["action"]) == ("production", "promote")
    assert world.served.edge("site.vercel.app").text == "<h1>preview one</h1>"


def test_rollback_and_its_status(world: World) -> None:
    """rollback to the first production deployment; rollback status reports it."""
    rolled = world.vercel("rollback", world.urls["prod1"], "--yes")
    host = world.urls["prod1"].removeprefix("https://")
    assert f"site was rolled back to {host}" in rolled.stderr
    assert world.served.edge("site.vercel.app").text == "<h1>prod one</h1>"
    project = world.project()
    first = world.deployment(world.urls["prod1"])["id"]
    assert project["lastAliasRequest"]["type"] == "rollback"
    assert project["lastRollbackTarget"]["toDeploymentId"] == first
    status = world.vercel("rollback", "status")
    assert f"site was rolled back to {host} ({first})" in status.stderr


def test_archive_tgz_is_unpacked_and_served(world: World) -> None:
    """deploy --archive=tgz: the edge serves / and nested files, builds list the files."""
    (world.site / "docs").mkdir()
    (world.site / "docs" / "page.txt").write_text("nested page")
    url = world.deploy("<h1>from a tarball</h1>", "--archive=tgz")
    assert world.served.edge(url).text == "<h1>from a tarball</h1>"
    assert world.served.edge(url, "/docs/page.txt").text == "nested page"
    with world.served.api() as api:
        builds = api.get(f"/v11/deployments/{world.deployment(url)['id']}/builds").json()
    paths = {item["path"] for item in builds["builds"][0]["output"]}
    assert {"index.html", "docs/page.txt"} <= paths and not any("tgz" in p for p in paths)


def test_prebuilt_build_output_is_routed_by_the_edge(world: World, tmp_path: Path) -> None:
    """vercel build then deploy --prebuilt: config.json routes, static/ and overrides."""
    site = tmp_path / "prebuilt"
    (site / "public").mkdir(parents=True)
    (site / "public" / "index.html").write_text("<h1>prebuilt</h1>")
    (site / "public" / "about.html").write_text("about us")
    config = {
        "cleanUrls": True,
        "rewrites": [{"source": "/old", "destination": "/about.html"}],
        "headers": [{"source": "/(.*)", "headers": [{"key": "x-sandbox", "value": "yes"}]}],
    }
    (site / "vercel.json").write_text(json.dumps(config))
    world.vercel("pull", "--yes", cwd=site)
    world.vercel("build", "--yes", cwd=site)
    assert (site / ".vercel" / "output" / "config.json").exists()
    url = world.vercel("deploy", "--prebuilt", "--yes", cwd=site).stdout.strip()
    home = world.served.edge(url)
    assert (home.text, home.headers["x-sandbox"]) == ("<h1>prebuilt</h1>", "yes")
    assert world.served.edge(url, "/about").text == "about us"
    redirect = world.served.edge(url, "/about.html")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/about")
    assert world.served.edge(url, "/old").text == "about us"
    assert world.served.edge(url, "/nope").status_code == 404


def test_env_add_ls_pull_rm(world: World) -> None:
    """env add (config and secret), ls, env pull and pull, rm; checked through the API."""
    world.vercel(
        "env", "add", "GREETING", "preview", "--value", "hello", "--type", "config", "--yes"
    )
    world.vercel("env", "add", "API_SECRET", "preview", "--value", "s3cret", "--yes")
    listed = world.vercel("env", "ls")
    assert "GREETING" in listed.stdout and "API_SECRET" in listed.stdout
    world.vercel("env", "pull", "pulled.env", "--environment", "preview", "--yes")
    pulled = (world.site / "pulled.env").read_text()
    assert 'GREETING="hello"' in pulled and "s3cret" not in pulled
    world.vercel("pull", "--yes", "--environment", "preview")
    assert 'GREETING="hello"' in (world.site / ".vercel" / ".env.preview.local").read_text()
    linked = json.loads((world.site / ".vercel" / "project.json").read_text())
    assert (linked["orgId"], linked["projectName"]) == (TEAM, "site")
    world.vercel("env", "rm", "GREETING", "preview", "--yes")
    with world.served.api() as api:
        keys = {e["key"]: e for e in api.get("/v10/projects/site/env").json()["envs"]}
    assert "GREETING" not in keys and keys["API_SECRET"]["value"] == ""


def test_ls_and_inspect(world: World) -> None:
    """ls lists the deployments; inspect --json names production's aliases and builds."""
    listed = world.vercel("ls")
    assert world.urls["prod1"] in listed.stdout and world.urls["preview"] in listed.stdout
    inspected = json.loads(world.vercel("inspect", "site.vercel.app", "--json").stdout)
    assert inspected["url"] == world.urls["prod1"].removeprefix("https://")
    assert inspected["target"] == "production" and "site.vercel.app" in inspected["aliases"]
    assert inspected["builds"][0]["readyState"] == "READY"
    logs = world.vercel("inspect", world.urls["prod1"], "--logs")
    assert "Build Completed" in logs.stdout + logs.stderr


def test_alias_set_points_a_name_at_a_deployment(world: World) -> None:
    """alias set: the edge serves the deployment at the new name; the API lists it."""
    world.vercel("alias", "set", world.urls["preview"], "site-review.vercel.app")
    assert world.served.edge("site-review.vercel.app").text == "<h1>preview one</h1>"
    preview = world.deployment(world.urls["preview"])
    with world.served.api() as api:
        aliases = api.get(f"/v2/deployments/{preview['id']}/aliases").json()["aliases"]
    assert "site-review.vercel.app" in [a["alias"] for a in aliases]


def test_alias_ls_rm_project_ls_and_remove(world: World) -> None:
    """alias ls lists and alias rm removes a name (the edge stops serving it); project ls
    lists the project; remove deletes a deployment, off the edge too."""
    assert "site-review.vercel.app" in world.vercel("alias", "ls").stdout
    world.vercel("alias", "rm", "site-review.vercel.app", "--yes")
    assert world.served.edge("site-review.vercel.app").status_code == 404
    listed = world.vercel("project", "ls")
    assert "site" in listed.stdout + listed.stderr
    world.vercel("remove", world.urls["preview"], "--yes")
    assert world.served.edge(world.urls["preview"]).status_code == 404


def test_targets_list_the_standard_environments(world: World) -> None:
    """target ls (custom environments): the three standard ones, none custom."""
    listed = world.vercel("target", "ls")
    text = listed.stdout + listed.stderr
    assert all(name in text for name in ("Production", "Preview", "Development"))


def test_every_cli_request_had_a_route(world: World) -> None:
    """No CLI call above reached a path or method the emulator does not answer."""
    emulator = world.served.emulator
    seen = {(e.method, e.path) for e in emulator.traffic.entries()}
    assert len(seen) > 20
    assert not [f"{m} {p}" for m, p in sorted(seen) if not emulator.has_route(m, p)]
    assert not emulator.has_route("GET", "/v99/nothing")
