"""Routes ``vercel project ls|rm``, ``alias ls|rm``, ``remove`` and ``rollback`` call,
over real loopback HTTP: listing, removal (gone from the edge too) and refusals."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest

from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN, VercelEmulator
from tests import loopback
from tests.sandbox.vercel_tools import Served, served_emulator


@pytest.fixture
def served() -> Iterator[Served]:
    with served_emulator() as world:
        yield world


def _deploy(api: httpx.Client, text: bytes, **extra: object) -> dict[str, object]:
    sha = hashlib.sha1(text, usedforsecurity=False).hexdigest()
    api.post("/v2/files", content=text, headers={"x-vercel-digest": sha})
    body = {
        "name": extra.pop("name", "site"),
        "files": [{"file": "index.html", "sha": sha}],
        **extra,
    }
    answer = api.post("/v13/deployments", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_project_list_v9_and_remove_v2(served: Served) -> None:
    """``project ls`` lists over /v9/projects; ``project rm`` deletes over /v2/projects."""
    with served.api() as api:
        api.post("/v11/projects", json={"name": "site"})
        assert [p["name"] for p in api.get("/v9/projects").json()["projects"]] == ["site"]
        assert api.delete("/v2/projects/site").status_code == 204
        assert api.get("/v9/projects").json()["projects"] == []
        assert api.delete("/v2/projects/site").status_code == 404


def test_alias_list_find_and_remove_stops_serving(served: Served) -> None:
    """``alias ls`` pages /v3/now/aliases; ``alias rm`` finds by name, deletes by uid."""
    with served.api() as api:
        dep = _deploy(api, b"one", target="production")
        listed = api.get("/v3/now/aliases", params={"limit": 1}).json()
        assert listed["pagination"]["count"] == 1 and listed["pagination"]["next"] is not None
        hosts = {a["alias"] for a in api.get("/v4/aliases").json()["aliases"]}
        assert hosts == {"site.vercel.app", "site-sandbox.vercel.app"}
        found = api.get("/now/aliases/Site.vercel.app").json()
        assert (found["alias"], found["deployment"]["url"]) == ("site.vercel.app", dep["url"])
        assert served.edge("site.vercel.app").text == "one"
        assert api.delete(f"/now/aliases/{found['uid']}").status_code == 200
        assert api.get("/now/aliases/site.vercel.app").status_code == 404
        assert served.edge("site.vercel.app").status_code == 404
        assert api.delete("/v2/aliases/site-sandbox.vercel.app").status_code == 200
        assert api.get("/v3/now/aliases").json()["aliases"] == []


def test_alias_of_another_account_is_refused_one_of_the_same_account_moves(
    served: Served,
) -> None:
    """Another account's alias or a deployment URL: 403 alias_in_use (the CLI says "in use
    by a different team"); another project of the same account: the alias moves."""
    with served.api() as team, served.api(team=False) as personal:
        _deploy(team, b"one", target="production")
        other = _deploy(team, b"two", name="other")
        mine = _deploy(personal, b"mine", name="mine")
        taken = personal.post(
            f"/v2/deployments/{mine['id']}/aliases", json={"alias": "site.vercel.app"}
        )
        assert (taken.status_code, taken.json()["error"]["code"]) == (403, "alias_in_use")
        assert taken.json()["error"]["alias"] == "site.vercel.app"
        url = personal.post(f"/v2/deployments/{mine['id']}/aliases", json={"alias": other["url"]})
        assert url.status_code == 403
        moved = team.post(
            f"/v2/deployments/{other['id']}/aliases", json={"alias": "site.vercel.app"}
        )
        assert moved.status_code == 200 and moved.json()["oldDeploymentId"]
    assert served.edge("site.vercel.app").text == "two"


def test_remove_deployment_gets_it_off_the_list_and_the_edge(served: Served) -> None:
    """``vercel remove`` reads GET /now/deployments/{id}/aliases, then DELETE; SDK v13."""
    with served.api() as api:
        first = _deploy(api, b"one", target="production")
        second = _deploy(api, b"two")
        aliases = api.get(f"/now/deployments/{first['id']}/aliases").json()["aliases"]
        assert len(aliases) == 2
        third = _deploy(api, b"three")
        with served.api(team=False) as personal:  # vercel remove sends no teamId
            assert personal.delete(f"/now/deployments/{third['url']}").status_code == 404
            assert personal.delete(f"/now/deployments/{third['id']}").status_code == 200
        assert api.delete(f"/now/deployments/{first['id']}", params={"hard": 0}).json() == {
            "uid": first["id"],
            "state": "DELETED",
        }
        assert api.delete(f"/v13/deployments/{second['id']}").status_code == 200
        assert api.get("/v6/deployments").json()["deployments"] == []
        assert api.get(f"/v13/deployments/{first['id']}").status_code == 404
        assert api.delete(f"/v13/deployments/{first['id']}").status_code == 404
    assert served.edge("site.vercel.app").status_code == 404
    assert served.edge(str(second["url"])).status_code == 404


def test_rollback_refuses_a_deployment_that_never_served_production(served: Served) -> None:
    """Only a former production deployment is a rollback target."""
    with served.api() as api:
        preview = _deploy(api, b"preview")
        _deploy(api, b"one", target="production")
        old = _deploy(api, b"two", target="production")
        _deploy(api, b"three", target="production")
        refused = api.post(f"/v9/projects/site/rollback/{preview['id']}")
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            400,
            "invalid_rollback_target",
        )
        assert api.post(f"/v9/projects/site/rollback/{old['id']}").status_code == 201
    assert served.edge("site.vercel.app").text == "two"


@pytest.mark.parametrize(
    "path",
    ["/v5/domains", "/v1/registrar/domains/x.com/price", "/v8/certs", "/v4/domains/x.com/records"],
)
def test_domain_routes_say_the_sandbox_does_not_emulate_them(served: Served, path: str) -> None:
    """The CLI prints the message: it says why, not a bare "route not found"."""
    with served.api() as api:
        answer = api.get(path)
        plain = api.get("/v5/nothing-here")
    assert answer.status_code == 404
    assert "does not emulate domains" in answer.json()["error"]["message"]
    assert plain.json()["error"]["message"] == "The route was not found"


def test_rate_limited_deploy_reset_is_what_the_cli_reads() -> None:
    """limit.reset is epoch seconds, but milliseconds on deployment creation, where the
    CLI prints ``reset - Date.now()`` as the wait."""
    emulator = VercelEmulator(token=VERCEL_SANDBOX_TOKEN, rate_limit=1, rate_window_s=60)
    headers = {"Authorization": f"Bearer {VERCEL_SANDBOX_TOKEN}"}
    with (
        serve_in_thread(emulator.app()) as server,
        loopback.Client(base_url=server.url, headers=headers) as api,
    ):
        api.get("/v10/projects")
        listed = api.get("/v10/projects").json()["error"]["limit"]["reset"]
        created = api.post("/v13/deployments", json={}).json()["error"]["limit"]["reset"]
    now = time.time()
    assert now < listed <= now + 61
    assert now * 1000 < created <= (now + 61) * 1000
