"""The Vercel adapter against the sandbox emulator, over real loopback HTTP."""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters._http import retry_after_seconds
from orchestra_ops.adapters.vercel import VercelClient
from orchestra_ops.domain.vercel import (
    AliasJobStatus,
    AliasRequestType,
    DeploymentState,
    EnvTarget,
    EnvType,
    EnvVar,
    ProjectSettings,
)
from orchestra_ops.errors import (
    RateLimited,
    VercelConflict,
    VercelError,
    VercelInvalidRequest,
    VercelNotFound,
    VercelRateLimited,
    VercelUnauthorized,
    VercelUnavailable,
)
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.sandbox.vercel import VercelEmulator

CANARY = "canary-token-7f3a9c"
TEAM = "team_adaptertest"
SITE = {"dist/index.html": b"<h1>hello</h1>", "dist/app.js": b"console.log(1)"}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class World:
    """A served emulator, its clock, and a client that records its Retry-After sleeps."""

    def __init__(self, emulator: VercelEmulator, clock: FakeClock, url: str) -> None:
        self.emulator = emulator
        self.clock = clock
        self.url = url
        self.sleeps: list[float] = []
        self.client = self.make_client()

    def make_client(self, **options: Any) -> VercelClient:
        token = options.pop("token", CANARY)
        settings: dict[str, Any] = {
            "team_id": TEAM,
            "timeout_s": 2.0,
            "max_retry_after_s": 5.0,
            "sleep": self.sleeps.append,
            **options,
        }
        return VercelClient(self.url, SecretStr(token), **settings)


@pytest.fixture
def world() -> Iterator[World]:
    clock = FakeClock()
    emulator = VercelEmulator(token=CANARY, team_id=TEAM, build_delay_s=10.0, clock=clock)
    with serve_in_thread(emulator.app()) as api:
        built = World(emulator, clock, api.url)
        with built.client:
            yield built


def _no_canary(*things: object) -> None:
    for thing in things:
        assert CANARY not in repr(thing) and CANARY not in str(thing)


def test_client_satisfies_the_port_and_hides_the_token(world: World) -> None:
    """The client is a VercelApi; its repr has no token."""
    api: VercelApi = world.client
    assert isinstance(api, VercelClient)
    _no_canary(world.client)


def test_projects_create_get_update_and_list_all_pages(world: World) -> None:
    """Project calls map to domain Projects; listing follows pagination."""
    client = world.make_client(page_size=2)
    created = client.create_project("admin", ProjectSettings(framework="vite"))
    assert created.id.startswith("prj_") and created.framework == "vite"
    for name in ("b", "c", "d"):
        client.create_project(name)
    assert client.get_project("admin").id == created.id
    updated = client.update_project("admin", ProjectSettings(node_version="20.x"))
    assert updated.node_version == "20.x"
    assert sorted(p.name for p in client.list_projects()) == ["admin", "b", "c", "d"]
    client.close()


def test_env_upsert_list_decrypt_delete_and_masking(world: World) -> None:
    """Values round-trip per type; sensitive never comes back; reprs mask secrets."""
    world.client.create_project("web")
    secret = SecretStr("s3cr3t-value")
    written = world.client.upsert_env(
        "web",
        [
            EnvVar("API_URL", SecretStr("https://api"), EnvType.PLAIN, (EnvTarget.PRODUCTION,)),
            EnvVar("DB_PASS", secret, EnvType.ENCRYPTED, (EnvTarget.PRODUCTION,)),
            EnvVar("SIGNING", secret, EnvType.SENSITIVE, (EnvTarget.PRODUCTION,)),
        ],
    )
    assert [e.key for e in written] == ["API_URL", "DB_PASS", "SIGNING"]
    hidden = {e.key: e for e in world.client.list_env("web")}
    shown = {e.key: e for e in world.client.list_env("web", decrypt=True)}
    assert hidden["DB_PASS"].value is None and hidden["SIGNING"].value is None
    assert shown["DB_PASS"].value is not None
    assert shown["DB_PASS"].value.get_secret_value() == "s3cr3t-value"
    assert shown["SIGNING"].value is None
    assert "s3cr3t-value" not in repr(shown["DB_PASS"])
    assert "https://api" in repr(shown["API_URL"])
    again = world.client.upsert_env(
        "web", [EnvVar("API_URL", SecretStr("v2"), EnvType.PLAIN, (EnvTarget.PRODUCTION,))]
    )
    assert again[0].value is not None and again[0].value.get_secret_value() == "v2"
    env_id = hidden["API_URL"].id
    assert env_id is not None
    world.client.delete_env("web", env_id)
    assert "API_URL" not in {e.key for e in world.client.list_env("web")}
    with pytest.raises(VercelInvalidRequest):
        world.client.upsert_env("web", [EnvVar("X", SecretStr("1"), EnvType.PLAIN, ())])


def test_full_cycle_deploy_ready_promote_rollback(world: World) -> None:
    """missing_files cycle, READY by the clock, promote, rollback, lastAliasRequest."""
    settings = ProjectSettings(output_directory="dist")
    first = world.client.create_deployment(
        "web", SITE, target="production", project_settings=settings
    )
    posts = [e for e in world.emulator.log.entries() if e.method == "POST"]
    assert [(e.path, e.status) for e in posts] == [
        ("/v13/deployments", 400),
        ("/v2/files", 200),
        ("/v2/files", 200),
        ("/v13/deployments", 200),
    ]
    assert first.state is DeploymentState.QUEUED and first.target == "production"
    world.clock.now += 11
    ready = world.client.get_deployment(first.id)
    assert ready.state is DeploymentState.READY and ready.alias_assigned
    assert "web.vercel.app" in ready.aliases
    second = world.client.create_deployment("web", {"dist/index.html": b"v2"}, target="production")
    world.clock.now += 11
    assert world.client.get_project("web").production_deployment_id == second.id
    world.client.rollback("web", first.id, "bad release")
    request = world.client.last_alias_request("web")
    assert request is not None
    assert (request.type, request.job_status) == (
        AliasRequestType.ROLLBACK,
        AliasJobStatus.SUCCEEDED,
    )
    assert (request.from_deployment_id, request.to_deployment_id) == (second.id, first.id)
    world.client.promote("web", second.id)
    promoted = world.client.get_project("web")
    assert promoted.production_deployment_id == second.id
    assert promoted.last_alias_request is not None
    assert promoted.last_alias_request.type is AliasRequestType.PROMOTE
    teams = {team for _, _, team in world.emulator.team_queries}
    assert teams == {TEAM}


def test_deployment_listing_events_cancel_and_aliases(world: World) -> None:
    """List follows pages; events parse; cancel; aliases assign and list."""
    client = world.make_client(page_size=2)
    ids = [client.create_deployment("web", {"i.html": str(n).encode()}).id for n in range(3)]
    listed = client.list_deployments(project_id="web")
    assert [d.id for d in listed] == ids[::-1]
    canceled = client.cancel_deployment(ids[0])
    assert canceled.state is DeploymentState.CANCELED
    world.clock.now += 11
    ready = client.list_deployments(state=DeploymentState.READY)
    assert {d.id for d in ready} == set(ids[1:])
    events = client.deployment_events(ids[1])
    assert events[-1].text == "Deployment completed" and events[0].deployment_id == ids[1]
    alias = client.assign_alias(ids[1], "web.example.test")
    assert alias.alias == "web.example.test" and alias.old_deployment_id is None
    assert "web.example.test" in [a.alias for a in client.list_aliases(ids[1])]
    client.close()


def test_build_failure_is_visible_on_the_deployment(world: World) -> None:
    """An injected failure yields ERROR with BUILD_FAILED and the message."""
    world.emulator.fail_next_builds(1, "tsc failed")
    dep = world.client.create_deployment("web", {"index.html": b"x"})
    world.clock.now += 11
    failed = world.client.get_deployment(dep.url)
    assert (failed.state, failed.error_code, failed.error_message) == (
        DeploymentState.ERROR,
        "BUILD_FAILED",
        "tsc failed",
    )


# --- errors -------------------------------------------------------------------------------


def test_wrong_token_is_unauthorized_without_leaking_it(world: World) -> None:
    """403 -> VercelUnauthorized; neither token appears in the error."""
    other = world.make_client(token="wrong-token-value")
    with pytest.raises(VercelUnauthorized) as caught:
        other.get_project("web")
    assert "VERCEL_TOKEN" in str(caught.value)
    _no_canary(caught.value, other)
    assert "wrong-token-value" not in str(caught.value)
    other.close()


def test_wrong_team_is_unauthorized(world: World) -> None:
    """Another team's id is refused as 403."""
    with world.make_client(team_id="team_other") as other, pytest.raises(VercelUnauthorized):
        other.list_projects()


def test_not_found_conflict_and_invalid_request(world: World) -> None:
    """404, 409 and 400 map to their classes."""
    with pytest.raises(VercelNotFound):
        world.client.get_project("ghost")
    world.client.create_project("dup")
    with pytest.raises(VercelConflict) as conflict:
        world.client.create_project("dup")
    with pytest.raises(VercelInvalidRequest):
        world.client.create_project("Bad Name")
    _no_canary(conflict.value)


def test_429_honours_retry_after_once(world: World) -> None:
    """One 429 with Retry-After: the client sleeps that long and succeeds."""
    world.emulator.plan.inject(r"/v10/projects", status=429, headers={"Retry-After": "0.25"})
    assert world.client.list_projects() == []
    assert world.sleeps == [0.25]


def test_429_twice_raises_rate_limited_with_retry_after(world: World) -> None:
    """Still throttled after one wait: VercelRateLimited carrying retry_after."""
    world.emulator.plan.inject(r"/v10/projects", status=429, count=2, headers={"Retry-After": "2"})
    with pytest.raises(VercelRateLimited) as caught:
        world.client.list_projects()
    assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 2.0
    assert world.sleeps == [2.0]
    _no_canary(caught.value)


def test_429_beyond_the_bound_raises_at_once(world: World) -> None:
    """A Retry-After above max_retry_after_s is not waited for."""
    world.emulator.plan.inject(r"/v10/projects", status=429, headers={"Retry-After": "120"})
    with pytest.raises(VercelRateLimited) as caught:
        world.client.list_projects()
    assert caught.value.retry_after == 120.0 and world.sleeps == []


def test_emulator_rate_limit_is_honoured() -> None:
    """The emulator's own limit (Retry-After from its window) is waited for once."""
    clock = FakeClock()
    emulator = VercelEmulator(token=CANARY, clock=clock, rate_limit=1, rate_window_s=3)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    with (
        serve_in_thread(emulator.app()) as api,
        VercelClient(api.url, SecretStr(CANARY), sleep=sleep) as client,
    ):
        assert client.list_projects() == []
        assert client.list_projects() == []
    assert sleeps == [3.0]


def test_retry_after_accepts_an_http_date() -> None:
    """Retry-After may be an HTTP date; garbage and absence give None."""
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = retry_after_seconds(later)
    assert seconds is not None and 25 <= seconds <= 31
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable(world: World, status: int) -> None:
    """Server errors are transient VercelUnavailable."""
    world.emulator.plan.inject(r"/v9/projects/.*", status=status)
    with pytest.raises(VercelUnavailable) as caught:
        world.client.get_project("web")
    assert str(status) in str(caught.value)


def test_timeout_is_unavailable(world: World) -> None:
    """A hang longer than timeout_s becomes VercelUnavailable."""
    world.emulator.plan.inject(r"/v10/projects", mode="hang", delay_s=1.0)
    with world.make_client(timeout_s=0.2) as quick, pytest.raises(VercelUnavailable) as caught:
        quick.list_projects()
    assert "in time" in str(caught.value)
    _no_canary(caught.value, caught.value.__cause__)


def test_connection_refused_is_unavailable() -> None:
    """Nobody listening: VercelUnavailable naming the problem."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with VercelClient(f"http://127.0.0.1:{port}", SecretStr(CANARY)) as client:
        with pytest.raises(VercelUnavailable) as caught:
            client.get_project("web")
    assert isinstance(caught.value, VercelError)
    _no_canary(caught.value)
