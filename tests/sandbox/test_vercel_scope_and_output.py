"""The Vercel emulator's identity and scope, archive and Build Output serving, alias
naming, skip-domain and the measuring request log: fast, over real loopback HTTP."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator

import httpx
import pytest

from orchestra_ops.sandbox.admin import admin_app
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN, VercelEmulator, archive
from orchestra_ops.sandbox.vercel import build_output as output
from orchestra_ops.sandbox.vercel.routing import NotFound, Redirect, Serve
from tests import loopback
from tests.sandbox.vercel_tools import TEAM, Served, served_emulator


@pytest.fixture
def served() -> Iterator[Served]:
    with served_emulator() as world:
        yield world


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _upload(api: httpx.Client, data: bytes) -> str:
    sha = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    assert api.post("/v2/files", content=data, headers={"x-vercel-digest": sha}).status_code == 200
    return sha


def _deploy(api: httpx.Client, files: dict[str, bytes], **extra: object) -> dict[str, object]:
    listed = [{"file": path, "sha": _upload(api, data)} for path, data in files.items()]
    answer = api.post("/v13/deployments", json={"name": "site", "files": listed, **extra})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_user_and_team_lookups(served: Served) -> None:
    """The token's user has the team as default; a foreign team is forbidden."""
    with served.api(team=False) as api:
        user = api.get("/v2/user").json()["user"]
        assert (user["username"], user["defaultTeamId"]) == ("sandbox-dev", TEAM)
        assert [t["id"] for t in api.get("/v1/teams").json()["teams"]] == [TEAM]
        assert api.get(f"/teams/{TEAM}").json()["membership"]["role"] == "OWNER"
        assert api.get("/v2/teams/sandbox").json()["id"] == TEAM
        assert api.get("/teams/team_other").status_code == 403
        assert api.get("/v10/projects", params={"teamId": "team_other"}).status_code == 403


def test_personal_and_team_scopes_do_not_see_each_other(served: Served) -> None:
    """No teamId acts for the user; the same name may exist in both scopes."""
    with served.api(team=False) as personal, served.api() as team:
        mine = personal.post("/v11/projects", json={"name": "site"}).json()
        assert mine["accountId"].startswith("user_")
        assert team.get("/v9/projects/site").status_code == 404
        theirs = team.post("/v11/projects", json={"name": "site"}).json()
        assert theirs["accountId"] == TEAM and theirs["id"] != mine["id"]
        dep = _deploy(team, {"index.html": b"team"}, project=theirs["id"])
        assert str(dep["url"]).endswith("-sandbox.vercel.app")
        assert personal.get(f"/v13/deployments/{dep['id']}").status_code == 404
        assert [p["id"] for p in personal.get("/v10/projects").json()["projects"]] == [mine["id"]]
        prod = _deploy(
            team, {"index.html": b"team prod"}, project=theirs["id"], target="production"
        )
        assert prod["alias"] == ["site.vercel.app", "site-sandbox.vercel.app"]
        listed = [{"file": "index.html", "sha": _upload(personal, b"mine")}]
        body = {"name": "site", "files": listed, "target": "production"}
        personal_prod = personal.post("/v13/deployments", json=body).json()
        assert personal_prod["alias"] == ["site-sandbox-dev.vercel.app"]  # the name is taken
    assert served.edge("site.vercel.app").text == "team prod"


def test_production_aliases_and_skip_domain(served: Served) -> None:
    """Production domains come first; autoAssignCustomDomains false leaves them alone."""
    with served.api() as api:
        first = _deploy(api, {"index.html": b"one"}, target="production")
        assert first["alias"] == ["site.vercel.app", "site-sandbox.vercel.app"]
        skipped = _deploy(
            api, {"index.html": b"two"}, target="production", autoAssignCustomDomains=False
        )
        assert (skipped["alias"], skipped["readySubstate"]) == ([], "STAGED")
    assert served.edge("site.vercel.app").text == "one"
    assert served.edge("site-sandbox.vercel.app").text == "one"


def test_archive_upload_is_unpacked_and_a_bad_one_refused(served: Served) -> None:
    """source.tgz parts are joined and unpacked; a member escaping the root is a 400."""
    blob = _tgz({"index.html": b"<h1>tar</h1>", "a/b.txt": b"deep"})
    with served.api() as api:
        parts = {".vercel/source.tgz.part1": blob[:50], ".vercel/source.tgz.part2": blob[50:]}
        dep = _deploy(api, parts)
        assert served.edge(str(dep["url"]), "/a/b.txt").text == "deep"
        evil = _tgz({"../escape.txt": b"x"})
        listed = [{"file": ".vercel/source.tgz", "sha": _upload(api, evil)}]
        refused = api.post("/v13/deployments", json={"name": "site", "files": listed})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_archive")
    assert archive.archive_parts(["index.html", ".vercel/source.tgz.part1"]) is None


def test_build_output_routes_phases_and_overrides() -> None:
    """Redirects, headers, filesystem (with overrides), rewrites, then the error phase."""
    config = {
        "version": 3,
        "routes": [
            {"src": "^/(.*)\\.html$", "headers": {"Location": "/$1"}, "status": 308},
            {"src": "^/(.*)$", "headers": {"x-a": "1"}, "continue": True},
            {"handle": "filesystem"},
            {"src": "^/legacy$", "dest": "/about.html"},
            {"handle": "error"},
            {"src": "^/.*$", "dest": "/404", "status": 404},
        ],
        "overrides": {"about.html": {"path": "about", "contentType": "text/html"}},
    }
    files = {
        output.CONFIG: json.dumps(config).encode(),
        output.STATIC + "index.html": b"home",
        output.STATIC + "about.html": b"about",
        output.STATIC + "404.html": b"missing",
    }
    built = output.load(files)
    assert output.route(built, "/about.html", "q=1") == Redirect("/about?q=1", 308, {})
    assert output.route(built, "/about", "") == Serve("about", 200, {"x-a": "1"})
    assert output.route(built, "/", "") == Serve("index.html", 200, {"x-a": "1"})
    assert output.route(built, "/legacy", "") == Serve("about", 200, {"x-a": "1"})
    assert output.route(built, "/nope", "") == Serve("404.html", 404, {"x-a": "1"})
    assert built.types["about"] == "text/html"
    bare = output.load({output.CONFIG: b'{"version": 3}'})
    assert isinstance(output.route(bare, "/x", ""), NotFound)
    with pytest.raises(output.OutputError, match="version 3"):
        output.check_config(b'{"version": 2}')


def test_a_bad_build_output_config_fails_the_deployment(served: Served) -> None:
    """A --prebuilt upload whose config.json is not version 3 ends in ERROR."""
    with served.api() as api:
        dep = _deploy(api, {output.CONFIG: b'{"version": 2}', output.STATIC + "i.html": b"x"})
    assert dep["readyState"] == "ERROR" and "version 3" in str(dep["errorMessage"])


def test_traffic_log_measures_bytes_query_and_headers_never_the_token() -> None:
    """Each exchange has sizes, query and chosen headers; the admin route totals them."""
    emulator = VercelEmulator(token=VERCEL_SANDBOX_TOKEN, team_id=TEAM)
    with (
        serve_in_thread(emulator.app()) as api_server,
        serve_in_thread(admin_app({"vercel": emulator})) as admin,
    ):
        auth = {"Authorization": f"Bearer {VERCEL_SANDBOX_TOKEN}"}
        with loopback.Client(base_url=api_server.url, headers=auth) as api:
            payload = b"x" * 1234
            sha = hashlib.sha1(payload, usedforsecurity=False).hexdigest()
            headers = {"x-vercel-digest": sha}
            api.post("/v2/files", params={"teamId": TEAM}, content=payload, headers=headers)
            api.get("/v2/user", params={"access_token": "leak-me"})
        report = loopback.get(f"{admin.url}/vercel/traffic").json()
        assert loopback.delete(f"{admin.url}/vercel/traffic").status_code == 200
        assert emulator.traffic.entries() == []
    upload, user = report["entries"]
    assert (upload["method"], upload["path"], upload["query"]) == (
        "POST",
        "/v2/files",
        "teamId=" + TEAM,
    )
    assert (upload["status"], upload["request_bytes"], upload["headers"]["x-vercel-digest"]) == (
        200,
        1234,
        sha,
    )
    assert user["response_bytes"] > 100 and user["query"] == "access_token=%2A%2A%2A"
    assert report["totals"]["request_bytes"] == 1234 and report["totals"]["requests"] == 2
    dumped = json.dumps(report)
    assert VERCEL_SANDBOX_TOKEN not in dumped and "leak-me" not in dumped
