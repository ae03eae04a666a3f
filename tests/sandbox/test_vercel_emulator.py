"""The Vercel API emulator against the contract, over real loopback HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from orchestra_ops.sandbox.admin import admin_app
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator
from tests import loopback

TOKEN = "test-token-123"
TEAM = "team_sandbox123"
PROJECT_FIELDS = {
    "id", "name", "accountId", "createdAt", "updatedAt", "framework", "nodeVersion", "env",
    "latestDeployments", "targets", "lastAliasRequest", "directoryListing", "crons", "live",
    "alias", "defaultResourceConfig", "resourceConfig", "deploymentExpiration", "link",
    "lastRollbackTarget",
}  # fmt: skip
DEPLOYMENT_FIELDS = {
    "id", "url", "name", "readyState", "status", "aliasAssigned", "createdAt", "buildingAt",
    "bootedAt", "createdIn", "creator", "env", "build", "buildSkipped", "inspectorUrl",
    "isInConcurrentBuildsQueue", "isInSystemBuildsQueue", "meta", "ownerId", "plan",
    "projectId", "projectSettings", "public", "regions", "routes", "type", "version",
}  # fmt: skip


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Env:
    """A served emulator, its clock and an authorised client."""

    def __init__(self, emulator: VercelEmulator, clock: FakeClock, url: str) -> None:
        self.emulator = emulator
        self.clock = clock
        self.url = url
        self.client = loopback.Client(
            base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )

    def deploy(self, files: dict[str, bytes], **extra: Any) -> dict[str, Any]:
        body = {
            "name": extra.pop("name", "web"),
            "files": [
                {"file": p, "data": d.decode(), "encoding": "utf-8"} for p, d in files.items()
            ],
            **extra,
        }
        answer = self.client.post("/v13/deployments", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def get(self, dep_id: str) -> dict[str, Any]:
        return self.client.get(f"/v13/deployments/{dep_id}").json()  # type: ignore[no-any-return]


@pytest.fixture
def env() -> Iterator[Env]:
    clock = FakeClock()
    emulator = VercelEmulator(token=TOKEN, team_id=TEAM, build_delay_s=10.0, clock=clock)
    with serve_in_thread(emulator.app()) as api:
        served = Env(emulator, clock, api.url)
        yield served
        served.client.close()


def _sha(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


# --- auth, team, envelopes --------------------------------------------------------------


def test_missing_or_wrong_token_is_403_forbidden(env: Env) -> None:
    """No token, a wrong token or another team all get Vercel's forbidden envelope."""
    expected = {"error": {"code": "forbidden", "message": "Not authorized"}}
    assert loopback.get(f"{env.url}/v10/projects").json() == expected
    wrong = loopback.get(f"{env.url}/v10/projects", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()) == (403, expected)
    other_team = env.client.get("/v10/projects", params={"teamId": "team_other"})
    assert other_team.status_code == 403
    assert env.client.get("/v10/projects", params={"teamId": TEAM}).status_code == 200


def test_unknown_route_and_object_are_404_not_found(env: Env) -> None:
    """Unknown routes and objects answer 404 in the envelope."""
    assert env.client.get("/v99/nothing").json()["error"]["code"] == "not_found"
    missing = env.client.get("/v9/projects/ghost")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    assert env.client.get("/v13/deployments/dpl_ghost").status_code == 404


# --- projects ---------------------------------------------------------------------------


def test_project_crud_and_required_fields(env: Env) -> None:
    """Create carries every required field; get by name or id; patch; delete."""
    created = env.client.post("/v11/projects", json={"name": "admin", "framework": "vite"})
    project = created.json()
    assert created.status_code == 200
    assert PROJECT_FIELDS <= set(project)
    assert project["id"].startswith("prj_") and project["alias"] == []
    assert project["resourceConfig"]["functionDefaultRegions"]
    assert env.client.get(f"/v9/projects/{project['id']}").json()["name"] == "admin"
    patched = env.client.patch("/v9/projects/admin", json={"outputDirectory": "dist"})
    assert patched.json()["outputDirectory"] == "dist"
    assert env.client.patch("/v9/projects/admin", json={"colour": "red"}).status_code == 400
    assert env.client.delete("/v9/projects/admin").status_code == 204
    assert env.client.get("/v9/projects/admin").status_code == 404


def test_project_duplicate_is_409_and_bad_name_400(env: Env) -> None:
    """A taken name conflicts; an invalid name is a bad request."""
    assert env.client.post("/v11/projects", json={"name": "a"}).status_code == 200
    dup = env.client.post("/v11/projects", json={"name": "a"})
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "conflict")
    bad = env.client.post("/v11/projects", json={"name": "Not Valid"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_request")


def test_project_list_paginates(env: Env) -> None:
    """``pagination.next`` passed back as ``from`` gives the next page."""
    for name in ("p1", "p2", "p3"):
        env.client.post("/v11/projects", json={"name": name})
    first = env.client.get("/v10/projects", params={"limit": 2}).json()
    assert [p["name"] for p in first["projects"]] == ["p3", "p2"]
    cursor = first["pagination"]["next"]
    second = env.client.get("/v10/projects", params={"limit": 2, "from": cursor}).json()
    assert [p["name"] for p in second["projects"]] == ["p1"]
    assert second["pagination"]["next"] is None


# --- env vars ---------------------------------------------------------------------------


def _env_post(env: Env, body: Any, upsert: bool = False) -> httpx.Response:
    params = {"upsert": "true"} if upsert else {}
    return env.client.post("/v10/projects/web/env", json=body, params=params)


def test_env_create_duplicate_and_upsert(env: Env) -> None:
    """Single object -> created object; duplicate -> failed (a single one: 400); upsert
    overwrites."""
    env.client.post("/v11/projects", json={"name": "web"})
    one = _env_post(env, {"key": "A", "value": "1", "type": "plain", "target": ["production"]})
    assert one.status_code == 201
    assert one.json()["created"]["key"] == "A" and one.json()["failed"] == []
    dup = _env_post(env, [{"key": "A", "value": "2", "type": "plain", "target": ["production"]}])
    assert dup.status_code == 201 and dup.json()["created"] == []
    assert dup.json()["failed"][0]["error"]["code"] == "ENV_ALREADY_EXISTS"
    single = _env_post(env, {"key": "A", "value": "2", "type": "plain", "target": ["production"]})
    assert (single.status_code, single.json()["error"]["code"]) == (400, "ENV_ALREADY_EXISTS")
    assert single.json()["error"]["key"] == "A"
    up = _env_post(
        env, [{"key": "A", "value": "3", "type": "plain", "target": ["production"]}], upsert=True
    )
    assert up.json()["created"][0]["value"] == "3"
    listed = env.client.get("/v10/projects/web/env").json()["envs"]
    assert [(e["key"], e["value"]) for e in listed] == [("A", "3")]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"key": "A", "value": "1", "type": "plain"}, "MISSING_TARGET"),
        (
            {"key": "A", "value": "1", "type": "system", "target": ["preview"]},
            "SYSTEM_ENV_WITH_VALUE",
        ),
        ({"key": "A", "type": "plain", "target": ["preview"]}, "MISSING_VALUE"),
        ({"key": "1-A", "value": "1", "target": ["preview"]}, "KEY_INVALID_CHARACTERS"),
        (
            {"key": "A", "value": "1", "target": ["production"], "gitBranch": "main"},
            "bad_request",
        ),
        ({"key": "A", "value": "1", "type": "weird", "target": ["preview"]}, "bad_request"),
    ],
)
def test_env_validation_errors(env: Env, item: dict[str, Any], code: str) -> None:
    """Each invalid definition is a 400 with its code."""
    env.client.post("/v11/projects", json={"name": "web"})
    answer = _env_post(env, item)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


def test_env_list_decrypt_rules_and_single_ops(env: Env) -> None:
    """Plain always shown, encrypted only with decrypt, sensitive never; get/patch/delete."""
    env.client.post("/v11/projects", json={"name": "web"})
    _env_post(
        env,
        [
            {"key": "P", "value": "plain-v", "type": "plain", "target": ["production"]},
            {"key": "E", "value": "enc-v", "type": "encrypted", "target": ["production"]},
            {"key": "S", "value": "sens-v", "type": "sensitive", "target": ["production"]},
            {"key": "B", "value": "b", "type": "plain", "target": ["preview"], "gitBranch": "dev"},
        ],
    )
    hidden = {e["key"]: e for e in env.client.get("/v10/projects/web/env").json()["envs"]}
    shown = env.client.get("/v10/projects/web/env", params={"decrypt": "true"}).json()["envs"]
    shown_by_key = {e["key"]: e for e in shown}
    assert hidden["P"]["value"] == "plain-v" and hidden["E"]["value"] == ""
    assert shown_by_key["E"]["value"] == "enc-v" and shown_by_key["E"]["decrypted"] is True
    assert hidden["S"]["value"] == "" and shown_by_key["S"]["value"] == ""
    assert all(e["securityIssues"] == [] for e in shown)
    assert hidden["B"]["gitBranch"] == "dev"
    enc_id = hidden["E"]["id"]
    assert env.client.get(f"/v1/projects/web/env/{enc_id}").json()["value"] == "enc-v"
    assert env.client.get(f"/v1/projects/web/env/{hidden['S']['id']}").json()["value"] == ""
    patched = env.client.patch(f"/v9/projects/web/env/{hidden['P']['id']}", json={"value": "new"})
    assert patched.json()["value"] == "new"
    assert env.client.delete(f"/v9/projects/web/env/{enc_id}").status_code == 200
    assert env.client.get(f"/v1/projects/web/env/{enc_id}").status_code == 404


# --- files and deployments --------------------------------------------------------------


def test_file_upload_checks_the_digest(env: Env) -> None:
    """The sha1 header must match the body; the legacy header works too."""
    data = b"hello"
    ok = env.client.post("/v2/files", content=data, headers={"x-vercel-digest": _sha(data)})
    assert (ok.status_code, ok.json()) == (200, {})
    legacy = env.client.post("/v2/files", content=data, headers={"x-now-digest": _sha(data)})
    assert legacy.status_code == 200
    bad = env.client.post("/v2/files", content=data, headers={"x-vercel-digest": _sha(b"x")})
    assert bad.status_code == 400
    assert env.client.post("/v2/files", content=data).status_code == 400


def test_missing_files_cycle(env: Env) -> None:
    """Unknown shas -> 400 missing_files; after uploading, the identical request passes."""
    data = b"<h1>x</h1>"
    body = {"name": "web", "files": [{"file": "index.html", "sha": _sha(data), "size": len(data)}]}
    first = env.client.post("/v13/deployments", json=body)
    assert first.status_code == 400
    assert first.json() == {
        "error": {"code": "missing_files", "message": "Missing files", "missing": [_sha(data)]}
    }
    env.client.post("/v2/files", content=data, headers={"x-vercel-digest": _sha(data)})
    second = env.client.post("/v13/deployments", json=body)
    assert second.status_code == 200 and second.json()["url"].endswith(".vercel.app")


def test_deployment_shape_and_lifecycle_with_a_fake_clock(env: Env) -> None:
    """QUEUED -> BUILDING -> READY by the clock; aliases only after READY; preview target null.

    A preview naming its git branch gets Vercel's branch alias (personal scope here: the
    request has no teamId); production's domains stay untouched.
    """
    dep = env.deploy({"index.html": b"hi"}, meta={"githubCommitRef": "feature/Login"})
    assert DEPLOYMENT_FIELDS <= set(dep)
    assert dep["id"].startswith("dpl_") and dep["type"] == "LAMBDAS" and dep["version"] == 2
    assert (dep["readyState"], dep["target"], dep["aliasAssigned"]) == ("QUEUED", None, False)
    env.clock.now += 3
    assert env.get(dep["id"])["readyState"] == "BUILDING"
    env.clock.now += 10
    ready = env.get(dep["url"])
    assert (ready["readyState"], ready["status"], ready["aliasAssigned"]) == (
        "READY",
        "READY",
        True,
    )
    assert ready["alias"] == ["web-git-feature-login-sandbox-dev.vercel.app"]


def test_injected_build_failure_and_invalid_vercel_json_end_in_error(env: Env) -> None:
    """fail_next_builds and a vercel.json mixing routes and rewrites both give BUILD_FAILED."""
    env.emulator.fail_next_builds(1, "npm run build exited 1")
    failed = env.deploy({"index.html": b"x"})
    mixed = env.deploy({"vercel.json": b'{"routes": [], "rewrites": []}'})
    fine = env.deploy({"index.html": b"x"})
    env.clock.now += 11
    first, second = env.get(failed["id"]), env.get(mixed["id"])
    assert (first["readyState"], first["errorCode"]) == ("ERROR", "BUILD_FAILED")
    assert first["errorMessage"] == "npm run build exited 1" and first["aliasAssigned"] is False
    assert (
        second["readyState"] == "ERROR" and "`routes` cannot be present" in second["errorMessage"]
    )
    assert env.get(fine["id"])["readyState"] == "READY"


def test_list_filters_paginates_and_uses_uid(env: Env) -> None:
    """v6 and v7 list newest first with uid, filtered by project, target and state."""
    a = env.deploy({"a": b"1"}, name="one")
    b = env.deploy({"b": b"2"}, name="two", target="production")
    env.clock.now += 11
    c = env.deploy({"c": b"3"}, name="two")
    all_items = env.client.get("/v7/deployments").json()["deployments"]
    assert [d["uid"] for d in all_items] == [c["id"], b["id"], a["id"]]
    prod = env.client.get("/v6/deployments", params={"target": "production"}).json()
    assert [d["uid"] for d in prod["deployments"]] == [b["id"]]
    ready = env.client.get("/v6/deployments", params={"projectId": "two", "state": "READY"})
    assert [d["uid"] for d in ready.json()["deployments"]] == [b["id"]]
    page = env.client.get("/v6/deployments", params={"limit": 2}).json()
    rest = env.client.get("/v6/deployments", params={"until": page["pagination"]["next"]}).json()
    assert [d["uid"] for d in rest["deployments"]] == [a["id"]]


def test_events_follow_the_documented_shape(env: Env) -> None:
    """Events are a JSON array of {type, created, payload:{id, date, deploymentId, serial}}."""
    dep = env.deploy({"index.html": b"x"})
    env.clock.now += 11
    events = env.client.get(f"/v3/deployments/{dep['id']}/events").json()
    assert events[-1]["payload"]["text"] == "Deployment completed"
    for event in events:
        assert event["type"] in ("command", "stdout", "stderr", "exit")
        assert {"id", "date", "deploymentId", "serial"} <= set(event["payload"])
        assert event["payload"]["deploymentId"] == dep["id"]


def test_cancel_only_while_building(env: Env) -> None:
    """A building deployment can be canceled; a READY one cannot."""
    dep = env.deploy({"index.html": b"x"})
    canceled = env.client.patch(f"/v12/deployments/{dep['id']}/cancel")
    assert canceled.json()["readyState"] == "CANCELED"
    other = env.deploy({"index.html": b"y"})
    env.clock.now += 11
    assert env.client.patch(f"/v12/deployments/{other['id']}/cancel").status_code == 400


def test_assign_and_list_aliases(env: Env) -> None:
    """POST gives {uid, alias, created, oldDeploymentId}; moving it names the old deployment."""
    one = env.deploy({"index.html": b"1"})
    two = env.deploy({"index.html": b"2"})
    env.clock.now += 11
    first = env.client.post(f"/v2/deployments/{one['id']}/aliases", json={"alias": "x.example"})
    assert first.json()["oldDeploymentId"] is None and first.json()["alias"] == "x.example"
    moved = env.client.post(f"/v2/deployments/{two['id']}/aliases", json={"alias": "x.example"})
    assert moved.json()["oldDeploymentId"] == one["id"]
    listed = env.client.get(f"/v2/deployments/{two['id']}/aliases").json()["aliases"]
    assert "x.example" in [a["alias"] for a in listed]
    assert env.client.post(f"/v2/deployments/{two['id']}/aliases", json={}).status_code == 400


def test_promote_and_rollback_move_production_and_record_it(env: Env) -> None:
    """Production auto-promotes; rollback moves back and stops auto-assign; promote restores."""
    old = env.deploy({"index.html": b"1"}, target="production")
    env.clock.now += 11
    new = env.deploy({"index.html": b"2"}, target="production")
    env.clock.now += 11
    assert env.get(new["id"])["readySubstate"] == "PROMOTED"
    assert "web.vercel.app" in env.get(new["id"])["alias"]
    rolled = env.client.post(f"/v1/projects/web/rollback/{old['id']}")
    assert (rolled.status_code, rolled.content) == (201, b"")
    project = env.client.get("/v9/projects/web").json()
    request = project["lastAliasRequest"]
    assert (request["fromDeploymentId"], request["toDeploymentId"]) == (new["id"], old["id"])
    assert (request["type"], request["jobStatus"]) == ("rollback", "succeeded")
    assert project["lastRollbackTarget"]["toDeploymentId"] == old["id"]
    assert project["targets"]["production"]["id"] == old["id"]
    assert env.client.post(f"/v9/projects/web/rollback/{old['id']}").status_code == 409
    staged = env.deploy({"index.html": b"3"}, target="production")
    env.clock.now += 11
    assert env.get(staged["id"])["readySubstate"] == "STAGED"
    promoted = env.client.post(f"/v10/projects/web/promote/{staged['id']}")
    assert (promoted.status_code, promoted.content) == (201, b"")
    after = env.client.get("/v9/projects/web").json()["lastAliasRequest"]
    assert (after["type"], after["toDeploymentId"]) == ("promote", staged["id"])


def test_promote_refuses_a_deployment_that_is_not_ready(env: Env) -> None:
    """Only READY deployments may serve production."""
    dep = env.deploy({"index.html": b"1"}, target="production")
    answer = env.client.post(f"/v10/projects/web/promote/{dep['id']}")
    assert answer.status_code == 409


# --- faults and rate limits ------------------------------------------------------------


def test_injected_429_carries_throttle_headers_and_limit(env: Env) -> None:
    """A 429 fault has Retry-After, X-RateLimit-* and error.limit."""
    env.emulator.plan.inject(r"/v10/projects", status=429)
    answer = env.client.get("/v10/projects")
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["x-ratelimit-remaining"] == "0"
    assert {"x-ratelimit-limit", "x-ratelimit-reset"} <= set(answer.headers)
    error = answer.json()["error"]
    assert error["code"] == "rate_limited"
    assert {"remaining", "reset", "resetMs", "total"} <= set(error["limit"])


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "internal_server_error"), (503, "internal_server_error"), (404, "not_found")],
)
def test_injected_statuses_use_the_vercel_envelope(env: Env, status: int, code: str) -> None:
    """Injected errors answer in {"error": {code, message}}."""
    env.emulator.plan.inject(r"/v10/projects", status=status)
    answer = env.client.get("/v10/projects")
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_after_effect_fault_creates_but_answers_500(env: Env) -> None:
    """'Succeeded but said 500': the project exists afterwards."""
    env.emulator.plan.inject(r"/v11/projects", status=500, mode="after_effect")
    assert env.client.post("/v11/projects", json={"name": "ghost"}).status_code == 500
    assert env.client.get("/v9/projects/ghost").status_code == 200


def test_hang_fault_times_out_the_client(env: Env) -> None:
    """A hang longer than the client timeout is a client-side timeout."""
    env.emulator.plan.inject(r"/v10/projects", mode="hang", delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        env.client.get("/v10/projects", timeout=0.2)


def test_emulator_rate_limit_window() -> None:
    """With rate_limit=2, the third request in a window is 429; a new window admits again."""
    clock = FakeClock()
    emulator = VercelEmulator(token=TOKEN, clock=clock, rate_limit=2, rate_window_s=60)
    with serve_in_thread(emulator.app()) as api:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        statuses = [loopback.get(f"{api.url}/v10/projects", headers=headers) for _ in range(3)]
        assert [s.status_code for s in statuses] == [200, 200, 429]
        assert statuses[0].headers["x-ratelimit-remaining"] == "1"
        assert int(statuses[2].headers["retry-after"]) >= 1
        assert statuses[2].json()["error"]["limit"]["total"] == 2
        clock.now += 61
        assert loopback.get(f"{api.url}/v10/projects", headers=headers).status_code == 200


def test_admin_routes_fail_builds_and_set_health(env: Env) -> None:
    """The admin endpoint exposes fail-builds and the health modes."""
    with serve_in_thread(admin_app({"vercel": env.emulator})) as admin:
        assert (
            loopback.post(f"{admin.url}/vercel/fail-builds", json={"count": 1}).status_code == 200
        )
        dep = env.deploy({"index.html": b"x"})
        env.clock.now += 11
        assert env.get(dep["id"])["readyState"] == "ERROR"
        ok = loopback.post(f"{admin.url}/vercel/health/{dep['id']}", json={"mode": "fail"})
        bad = loopback.post(f"{admin.url}/vercel/health/{dep['id']}", json={"mode": "sideways"})
        assert (ok.status_code, bad.status_code) == (200, 400)
        assert env.emulator.state.health[dep["id"]].mode == "fail"
