"""The Lambda Cloud emulator against its contract, over raw httpx on loopback."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from orchestra_ops.sandbox.admin import admin_app
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from tests import loopback

KEY = "test-lambda-key"
BOOT_S = 60.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    emulator: LambdaCloudEmulator
    api: ServedApp
    client: httpx.Client
    clock: FakeClock


class Swappable:
    """One loopback server for the module; each test plugs a fresh emulator into it."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Swappable, ServedApp]]:
    swappable = Swappable()
    with serve_in_thread(swappable) as api:
        yield swappable, api


def _start(server: tuple[Swappable, ServedApp], **options: Any) -> Iterator[Env]:
    swappable, api = server
    clock = FakeClock()
    emulator = LambdaCloudEmulator(api_key=KEY, clock=clock, **options)
    swappable.app = emulator.app()
    with loopback.Client(
        base_url=f"{api.url}/api/v1", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    ) as client:
        yield Env(emulator, api, client, clock)
    emulator.close()


@pytest.fixture
def env(server: tuple[Swappable, ServedApp]) -> Iterator[Env]:
    yield from _start(server, boot_delay_s=BOOT_S)


def data(answer: httpx.Response) -> Any:
    """The payload of a success envelope (and nothing else in the body)."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"data"}
    return body["data"]


def error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error object of an error envelope with this status and code."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "suggestion"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def add_key(env: Env, name: str = "ops-key") -> dict[str, Any]:
    return dict(data(env.client.post("/ssh-keys", json={"name": name})))


def launch_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "region_name": "us-west-1",
        "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ["ops-key"],
    }
    body.update(overrides)
    return body


def launch(env: Env, **overrides: Any) -> str:
    ids = data(env.client.post("/instance-operations/launch", json=launch_body(**overrides)))
    assert set(ids) == {"instance_ids"}
    return str(ids["instance_ids"][0])


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {KEY}",
        "Basic " + base64.b64encode(f"{KEY}:".encode()).decode(),
        f"Basic {KEY}",
    ],
)
def test_every_documented_auth_scheme_is_accepted(env: Env, header: str) -> None:
    """Bearer, Basic base64("key:") and the bare `Basic <key>` all authenticate."""
    answer = loopback.get(f"{env.api.url}/api/v1/instances", headers={"Authorization": header})
    assert data(answer) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic " + base64.b64encode(b"wrong:").decode()},
        {"Authorization": f"Token {KEY}"},
    ],
)
def test_missing_or_wrong_key_is_401_with_the_required_suggestion(
    env: Env, headers: dict[str, str]
) -> None:
    """Every endpoint refuses without the key; Unauthorized requires a suggestion."""
    for method, path in [("GET", "/instances"), ("POST", "/instance-operations/launch")]:
        answer = loopback.request(method, f"{env.api.url}/api/v1{path}", headers=headers)
        err = error(answer, 401, "global/invalid-api-key")
        assert err["suggestion"] == "Check your API key or create a new one, then try again."
        assert KEY not in answer.text


def test_unknown_route_and_wrong_method_answer_in_the_envelope(env: Env) -> None:
    """No plain-text 404s: unknown paths and methods keep the error envelope."""
    error(env.client.get("/nothing-here"), 404, "global/object-does-not-exist")
    error(env.client.put("/instances/abc", json={"name": "x"}), 405, "global/invalid-parameters")


# --- instances ------------------------------------------------------------------------------


def test_instance_boots_then_activates_on_the_clock_with_ip_only_when_active(env: Env) -> None:
    """booting (no ip/hostname, no health server) -> active after boot_delay_s."""
    add_key(env)
    instance_id = launch(env, hostname="web-1", name="api")
    assert re.fullmatch(r"[0-9a-f]{32}", instance_id)
    booting = data(env.client.get(f"/instances/{instance_id}"))
    assert booting["status"] == "booting"
    assert "ip" not in booting and "hostname" not in booting
    assert set(booting["actions"]) == {"migrate", "rebuild", "restart", "cold_reboot", "terminate"}
    assert booting["actions"]["restart"] == {
        "available": False,
        "reason_code": "vm-has-not-launched",
        "reason_description": "The instance has not finished launching.",
    }
    assert env.emulator.instance_health_url(instance_id) is None
    env.clock.advance(BOOT_S)
    active = data(env.client.get(f"/instances/{instance_id}"))
    assert active["status"] == "active"
    assert (active["ip"], active["hostname"], active["name"]) == ("127.0.0.1", "web-1", "api")
    assert all(a["available"] for a in active["actions"].values())
    assert active["region"] == {"name": "us-west-1", "description": "California, USA"}
    assert active["instance_type"]["specs"]["gpus"] == 1
    assert {"ssh_key_names", "file_system_names"} <= set(active)
    url = env.emulator.instance_health_url(instance_id)
    assert url is not None and url.startswith("http://127.0.0.1:")
    assert loopback.get(url).json() == {"status": "ok", "instance_id": instance_id}


def test_quantity_is_optional_and_accepted(env: Env) -> None:
    """The 1.8.3 schema lacks `quantity`; the emulator takes it but does not need it."""
    add_key(env)
    answer = env.client.post("/instance-operations/launch", json=launch_body(quantity=2))
    assert len(data(answer)["instance_ids"]) == 2
    launch(env)
    assert len(data(env.client.get("/instances"))) == 3


def test_rename_is_post_and_validates_the_name(env: Env) -> None:
    """Rename is POST /instances/{id}; a name over 64 characters is invalid."""
    add_key(env)
    instance_id = launch(env)
    renamed = data(env.client.post(f"/instances/{instance_id}", json={"name": "new-name"}))
    assert renamed["name"] == "new-name"
    too_long = env.client.post(f"/instances/{instance_id}", json={"name": "x" * 65})
    error(too_long, 400, "global/invalid-parameters")


def test_unknown_instance_is_404_without_suggestion(env: Env) -> None:
    """InstanceNotFound: the spec's default message, no suggestion."""
    missing = "0" * 32
    for answer in [
        env.client.get(f"/instances/{missing}"),
        env.client.post(f"/instances/{missing}", json={"name": "x"}),
        env.client.post("/instance-operations/restart", json={"instance_ids": [missing]}),
        env.client.post("/instance-operations/terminate", json={"instance_ids": [missing]}),
    ]:
        err = error(answer, 404, "global/object-does-not-exist")
        assert err == {
            "code": "global/object-does-not-exist",
            "message": "Specified instance does not exist.",
        }


def test_terminate_goes_terminating_then_terminated_and_vanishes(env: Env) -> None:
    """terminating until the clock moves; then gone from the list and 404 on get."""
    add_key(env)
    instance_id = launch(env)
    env.clock.advance(BOOT_S)
    assert env.emulator.instance_health_url(instance_id) is not None
    answer = env.client.post("/instance-operations/terminate", json={"instance_ids": [instance_id]})
    (terminating,) = data(answer)["terminated_instances"]
    assert terminating["status"] == "terminating"
    assert terminating["actions"]["terminate"]["reason_code"] == "vm-is-terminating"
    assert "ip" not in terminating
    assert env.emulator.instance_health_url(instance_id) is None
    env.clock.advance(BOOT_S + 1)
    assert data(env.client.get("/instances")) == []
    error(env.client.get(f"/instances/{instance_id}"), 404, "global/object-does-not-exist")


def test_restart_boots_the_instance_again(env: Env) -> None:
    """Restart answers restarted_instances and puts the instance back to booting."""
    add_key(env)
    instance_id = launch(env)
    env.clock.advance(BOOT_S)
    answer = env.client.post("/instance-operations/restart", json={"instance_ids": [instance_id]})
    (restarted,) = data(answer)["restarted_instances"]
    assert restarted["status"] == "booting"
    env.clock.advance(BOOT_S)
    assert data(env.client.get(f"/instances/{instance_id}"))["status"] == "active"
    error(
        env.client.post("/instance-operations/restart", json={"instance_ids": []}),
        400,
        "global/invalid-parameters",
    )


def test_never_activating_instances_stay_booting(env: Env) -> None:
    """By type (later launches) or by id (an existing instance)."""
    add_key(env)
    by_id = launch(env)
    env.emulator.never_activate(by_id)
    env.emulator.never_activate("gpu_1x_a100_sxm4")
    by_type = launch(env, instance_type_name="gpu_1x_a100_sxm4", region_name="us-west-2")
    env.clock.advance(BOOT_S * 100)
    for instance_id in (by_id, by_type):
        assert data(env.client.get(f"/instances/{instance_id}"))["status"] == "booting"
        assert env.emulator.instance_health_url(instance_id) is None


# --- capacity and launch errors -------------------------------------------------------------


def test_capacity_table_drives_listing_and_launch_refusal(env: Env) -> None:
    """Listed regions come from the table; elsewhere launch is HTTP 400 insufficient-capacity."""
    add_key(env)
    env.emulator.set_capacity("gpu_1x_a10", ["us-east-1"])
    types = data(env.client.get("/instance-types"))
    assert {"gpu_1x_a10", "gpu_1x_a100_sxm4", "gpu_8x_h100_sxm5", "gpu_1x_gh200"} <= set(types)
    assert any(spec["instance_type"]["specs"]["gpus"] == 0 for spec in types.values())
    a10 = types["gpu_1x_a10"]
    assert a10["regions_with_capacity_available"] == [
        {"name": "us-east-1", "description": "Virginia, USA"}
    ]
    assert a10["instance_type"]["price_cents_per_hour"] > 0
    refused = env.client.post("/instance-operations/launch", json=launch_body())
    err = error(refused, 400, "instance-operations/launch/insufficient-capacity")
    assert err["message"] == "Not enough capacity to fulfill launch request."
    assert data(env.client.get("/instances")) == []
    launch(env, region_name="us-east-1")
    assert types["gpu_8x_h100_sxm5"]["regions_with_capacity_available"] == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"region_name": "mars-north-1"},
        {"ssh_key_names": ["ops-key", "other"]},
        {"ssh_key_names": []},
        {"name": "n" * 65},
        {"hostname": "Bad_Host"},
        {"tags": [{"key": "Upper", "value": "x"}]},
        {"tags": [{"key": "team", "value": "v" * 129}]},
        {"image": {"id": "a", "family": "b"}},
        {"quantity": 0},
        {"colour": "red"},
    ],
)
def test_invalid_launch_bodies_are_invalid_parameters(env: Env, overrides: dict[str, Any]) -> None:
    """Shape errors are 400 global/invalid-parameters, and nothing is launched."""
    add_key(env)
    answer = env.client.post("/instance-operations/launch", json=launch_body(**overrides))
    error(answer, 400, "global/invalid-parameters")
    assert data(env.client.get("/instances")) == []


def test_non_json_body_is_invalid_parameters(env: Env) -> None:
    """A body that is not a JSON object is refused in the envelope."""
    answer = env.client.post("/instance-operations/launch", content=b"not json")
    error(answer, 400, "global/invalid-parameters")
    error(env.client.post("/ssh-keys", json=[1]), 400, "global/invalid-parameters")


@pytest.mark.parametrize(
    "overrides",
    [
        {"instance_type_name": "gpu_99x_unobtainium"},
        {"ssh_key_names": ["nobody"]},
        {"file_system_names": ["nofs"]},
        {"image": {"family": "no-such-family"}},
    ],
)
def test_unknown_launch_resources_are_404_with_suggestion(
    env: Env, overrides: dict[str, Any]
) -> None:
    """LaunchResourceNotFound requires a suggestion."""
    add_key(env)
    answer = env.client.post("/instance-operations/launch", json=launch_body(**overrides))
    assert error(answer, 404, "global/object-does-not-exist")["suggestion"]


def test_filesystem_in_another_region_is_refused(env: Env) -> None:
    """A filesystem must be in the launch region."""
    add_key(env)
    data(env.client.post("/filesystems", json={"name": "data", "region": "us-east-1"}))
    answer = env.client.post(
        "/instance-operations/launch", json=launch_body(file_system_names=["data"])
    )
    error(answer, 400, "instance-operations/launch/file-system-in-wrong-region")


def test_launch_rate_limit_answers_429_with_retry_after(
    server: tuple[Swappable, ServedApp],
) -> None:
    """When enabled, a second launch within the window is 429 with an emulator-chosen code."""
    for env in _start(server, launch_rate_limit_s=12.0):
        add_key(env)
        launch(env)
        env.clock.advance(5)
        limited = env.client.post("/instance-operations/launch", json=launch_body())
        # The real 429 body is unverified; `sandbox/rate-limited` is the emulator's own code.
        error(limited, 429, "sandbox/rate-limited")
        assert limited.headers["retry-after"] == "7"
        env.clock.advance(7)
        launch(env)
        assert len(data(env.client.get("/instances"))) == 2


# --- ssh keys, filesystems, images ----------------------------------------------------------


def test_ssh_keys_add_generate_list_delete(env: Env) -> None:
    """POST with a public key, or without for a generated pair; duplicates are refused."""
    public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt0ZXN0 me@host"
    added = data(env.client.post("/ssh-keys", json={"name": "mine", "public_key": public}))
    assert set(added) == {"id", "name", "public_key"}
    generated = add_key(env, "generated")
    assert generated["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    listed = data(env.client.get("/ssh-keys"))
    assert [k["name"] for k in listed] == ["mine", "generated"]
    assert all("private_key" not in k for k in listed)
    error(env.client.post("/ssh-keys", json={"name": "mine"}), 400, "global/duplicate")
    bad = env.client.post("/ssh-keys", json={"name": "x", "public_key": "nope"})
    error(bad, 400, "global/invalid-parameters")
    assert data(env.client.delete(f"/ssh-keys/{added['id']}")) == {}
    error(env.client.delete(f"/ssh-keys/{added['id']}"), 400, "global/object-does-not-exist")


def test_filesystems_list_and_create_use_different_paths(env: Env) -> None:
    """GET /file-systems lists; POST/DELETE go to /filesystems."""
    created = data(env.client.post("/filesystems", json={"name": "data", "region": "us-west-1"}))
    assert created["name"] == "data" and created["is_in_use"] is False
    assert created["region"]["name"] == "us-west-1"
    assert {"id", "mount_point", "created", "created_by"} <= set(created)
    assert [f["id"] for f in data(env.client.get("/file-systems"))] == [created["id"]]
    assert env.client.get("/filesystems").status_code == 405
    dup = env.client.post("/filesystems", json={"name": "data", "region": "us-west-1"})
    error(dup, 400, "global/duplicate")
    bad = env.client.post("/filesystems", json={"name": "9bad", "region": "us-west-1"})
    error(bad, 400, "global/invalid-parameters")
    assert data(env.client.delete(f"/filesystems/{created['id']}")) == {
        "deleted_ids": [created["id"]]
    }
    missing = error(
        env.client.delete(f"/filesystems/{created['id']}"), 404, "global/object-does-not-exist"
    )
    assert missing["message"] == "Filesystem was not found."


def test_filesystem_mounted_by_a_live_instance_cannot_be_deleted(env: Env) -> None:
    """filesystems/filesystem-in-use until the instance is terminated."""
    add_key(env)
    fs = data(env.client.post("/filesystems", json={"name": "data", "region": "us-west-1"}))
    instance_id = launch(env, file_system_names=["data"])
    assert data(env.client.get("/file-systems"))[0]["is_in_use"] is True
    error(env.client.delete(f"/filesystems/{fs['id']}"), 400, "filesystems/filesystem-in-use")
    env.client.post("/instance-operations/terminate", json={"instance_ids": [instance_id]})
    env.clock.advance(BOOT_S + 1)
    assert data(env.client.delete(f"/filesystems/{fs['id']}")) == {"deleted_ids": [fs["id"]]}


def test_images_are_listed_with_their_fields(env: Env) -> None:
    """Image objects carry every field of the schema."""
    images = data(env.client.get("/images"))
    assert images
    fields = {"id", "created_time", "updated_time", "name", "description", "family", "version"}
    assert all(fields | {"architecture", "region"} <= set(i) for i in images)
    assert {i["architecture"] for i in images} == {"x86_64", "arm64"}


# --- firewall ---------------------------------------------------------------------------------

SSH_RULE = {
    "protocol": "tcp",
    "port_range": [22, 22],
    "source_network": "0.0.0.0/0",
    "description": "ssh",
}


def test_global_firewall_rules_and_ruleset(env: Env) -> None:
    """PUT /firewall-rules and PATCH /firewall-rulesets/global edit the same rules."""
    icmp = {"protocol": "icmp", "source_network": "10.1.2.3", "description": "ping"}
    put = data(env.client.put("/firewall-rules", json={"data": [SSH_RULE, icmp]}))
    assert put[1]["source_network"] == "10.1.2.3/32"
    assert data(env.client.get("/firewall-rules")) == put
    assert data(env.client.get("/firewall-rulesets/global")) == {
        "id": "global",
        "name": "Global Firewall Rules",
        "rules": put,
    }
    patched = data(env.client.patch("/firewall-rulesets/global", json={"rules": []}))
    assert patched["rules"] == []
    for bad in [{**icmp, "port_range": [1, 2]}, {**SSH_RULE, "port_range": None}]:
        answer = env.client.put("/firewall-rules", json={"data": [bad]})
        error(answer, 400, "global/invalid-parameters")


def test_firewall_ruleset_crud_and_in_use(env: Env) -> None:
    """Create, get, patch, delete; a ruleset used by a live instance is in use."""
    body = {"name": "web", "region": "us-west-1", "rules": [SSH_RULE]}
    ruleset = data(env.client.post("/firewall-rulesets", json=body))
    assert data(env.client.get(f"/firewall-rulesets/{ruleset['id']}")) == ruleset
    assert data(env.client.get("/firewall-rulesets")) == [ruleset]
    error(env.client.post("/firewall-rulesets", json=body), 400, "global/duplicate")
    patched = data(env.client.patch(f"/firewall-rulesets/{ruleset['id']}", json={"name": "api"}))
    assert patched["name"] == "api" and patched["rules"] == ruleset["rules"]
    add_key(env)
    instance_id = launch(env, firewall_rulesets=[{"id": ruleset["id"]}])
    in_use = error(
        env.client.delete(f"/firewall-rulesets/{ruleset['id']}"),
        400,
        "firewall-rulesets/firewall-ruleset-in-use",
    )
    assert in_use["suggestion"]
    env.client.post("/instance-operations/terminate", json={"instance_ids": [instance_id]})
    env.clock.advance(BOOT_S + 1)
    assert data(env.client.delete(f"/firewall-rulesets/{ruleset['id']}")) == {}
    gone = error(
        env.client.get(f"/firewall-rulesets/{ruleset['id']}"), 404, "global/object-does-not-exist"
    )
    assert gone["suggestion"] == "Check your firewall ruleset ID and try again."


# --- faults, health, admin ---------------------------------------------------------------------


def test_after_effect_launch_creates_the_instance_though_the_client_saw_500(env: Env) -> None:
    """'Succeeded but answered 500', in Lambda's envelope with the required suggestion."""
    add_key(env)
    env.emulator.plan.inject(r"/api/v1/instance-operations/launch", mode="after_effect")
    answer = env.client.post("/instance-operations/launch", json=launch_body())
    assert error(answer, 500, "global/internal-error")["suggestion"]
    assert len(data(env.client.get("/instances"))) == 1


def test_respond_and_hang_faults(env: Env) -> None:
    """A 503 fault uses the provider/ code; a hang longer than the timeout times out."""
    env.emulator.plan.inject(r"/api/v1/instances", status=503)
    error(env.client.get("/instances"), 503, "provider/internal-unavailable")
    env.emulator.plan.inject(r"/api/v1/instances", mode="hang", delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        env.client.get("/instances", timeout=0.2)
    assert env.emulator.log.entries()[0].status == 503


def test_health_endpoint_modes(env: Env) -> None:
    """ok, fail (503), hang (client timeout), recover (two 503 then ok); /api/* answers JSON."""
    add_key(env)
    instance_id = launch(env)
    env.clock.advance(BOOT_S)
    url = env.emulator.instance_health_url(instance_id)
    assert url is not None
    api = loopback.get(url.replace("/health", "/api/users"))
    assert api.json() == {"status": "ok", "instance_id": instance_id, "path": "/api/users"}
    env.emulator.set_health(instance_id, "fail")
    assert loopback.get(url).status_code == 503
    env.emulator.set_health(instance_id, "hang")
    with pytest.raises(httpx.ReadTimeout):
        loopback.get(url, timeout=0.2)
    env.emulator.set_health(instance_id, "recover")
    assert [loopback.get(url).status_code for _ in range(3)] == [503, 503, 200]
    env.emulator.set_health(instance_id, "ok")
    assert loopback.get(url).json()["status"] == "ok"
    with pytest.raises(ValueError, match="health mode"):
        env.emulator.set_health(instance_id, "sideways")


def test_admin_routes_control_the_emulator(env: Env) -> None:
    """Health URL, health mode, capacity and never-activate over the admin endpoint."""
    with serve_in_thread(admin_app({"lambda": env.emulator})) as admin:
        base = f"{admin.url}/lambda"
        add_key(env)
        instance_id = launch(env)
        assert loopback.get(f"{base}/instances/{instance_id}/health-url").status_code == 404
        env.clock.advance(BOOT_S)
        url = loopback.get(f"{base}/instances/{instance_id}/health-url").json()["url"]
        put = loopback.put(f"{base}/instances/{instance_id}/health", json={"mode": "fail"})
        assert put.status_code == 200
        assert loopback.get(url).status_code == 503
        capacity = {"instance_type": "gpu_1x_a10", "regions": ["me-west-1"]}
        assert loopback.put(f"{base}/capacity", json=capacity).status_code == 200
        types = data(env.client.get("/instance-types"))
        assert [r["name"] for r in types["gpu_1x_a10"]["regions_with_capacity_available"]] == [
            "me-west-1"
        ]
        never = loopback.post(f"{base}/never-activate", json={"target": "gpu_1x_gh200"})
        assert never.status_code == 200
        bad = loopback.post(f"{base}/never-activate", json={"target": "nothing"})
        assert bad.status_code == 400
        log = loopback.get(f"{base}/requests").json()
        assert ("POST", "/api/v1/instance-operations/launch", 200) in [
            (e["method"], e["path"], e["status"]) for e in log
        ]


def test_injected_403_is_account_inactive_with_its_suggestion(env: Env) -> None:
    """Faults answer in Lambda's envelope; AccountInactive requires a suggestion."""
    env.emulator.plan.inject(r"/api/v1/instances", status=403)
    err = error(env.client.get("/instances"), 403, "global/account-inactive")
    assert err["suggestion"].startswith("Make sure you have verified your email address")


def test_concurrent_launches_are_all_recorded(env: Env) -> None:
    """State is behind one lock: parallel launches lose nothing and ids stay unique."""
    add_key(env)
    root = f"{env.api.url}/api/v1/instance-operations/launch"
    headers = {"Authorization": f"Bearer {KEY}"}

    def launch_three() -> list[str]:
        with loopback.Client(headers=headers, timeout=10) as client:
            answer = client.post(root, json=launch_body(quantity=3))
            return list(data(answer)["instance_ids"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for batch in pool.map(lambda _: launch_three(), range(16)) for i in batch]
    assert len(set(ids)) == 48
    assert {i["id"] for i in data(env.client.get("/instances"))} == set(ids)
