"""The Lambda Cloud adapter against the emulator, over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.domain.lambda_cloud import (
    FilesystemId,
    FirewallProtocol,
    FirewallRule,
    FirewallRulesetId,
    InstanceId,
    InstanceStatus,
    LaunchRequest,
    SshKeyId,
    Tag,
)
from orchestra_ops.errors import (
    InsufficientCapacity,
    LambdaCloudError,
    LambdaConflict,
    LambdaInvalidRequest,
    LambdaNotFound,
    LambdaRateLimited,
    LambdaUnauthorized,
    LambdaUnavailable,
    RateLimited,
    Unavailable,
)
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread

CANARY = "canary-lambda-key-7f3e1d"
LAUNCH = r"/api/v1/instance-operations/launch"
E = TypeVar("E", bound=LambdaCloudError)


class Swappable:
    """One loopback server for the module; each test plugs in a fresh emulator."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Env:
    emulator: LambdaCloudEmulator
    api: ServedApp
    client: LambdaCloudClient
    sleeps: list[float]

    def make_client(self, key: str = CANARY, **options: Any) -> LambdaCloudClient:
        options.setdefault("sleep", self.sleeps.append)
        return LambdaCloudClient(self.api.url, SecretStr(key), **options)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Swappable, ServedApp]]:
    swappable = Swappable()
    with serve_in_thread(swappable) as api:
        yield swappable, api


@pytest.fixture
def env(server: tuple[Swappable, ServedApp]) -> Iterator[Env]:
    swappable, api = server
    emulator = LambdaCloudEmulator(api_key=CANARY)
    swappable.app = emulator.app()
    sleeps: list[float] = []
    with LambdaCloudClient(api.url, SecretStr(CANARY), timeout_s=5, sleep=sleeps.append) as client:
        yield Env(emulator, api, client, sleeps)
    emulator.close()


def raises(kind: type[E], call: Callable[[], Any]) -> E:
    """Run ``call``, expect ``kind``, and check the key leaks nowhere in the error."""
    with pytest.raises(kind) as info:
        call()
    error = info.value
    for text in (str(error), repr(error), str(error.__cause__), repr(error.__cause__)):
        assert CANARY not in text
    return error


def request(**overrides: Any) -> LaunchRequest:
    fields: dict[str, Any] = {
        "region_name": "us-west-1",
        "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ("ops",),
    }
    fields.update(overrides)
    return LaunchRequest(**fields)


# --- happy paths --------------------------------------------------------------------------


def test_instance_life_cycle(env: Env) -> None:
    """Keys, filesystem, launch, get, list, rename, restart, terminate, in domain types."""
    c = env.client
    generated = c.generate_ssh_key("ops")
    assert generated.private_key is not None
    assert generated.private_key.get_secret_value().startswith("-----BEGIN OPENSSH")
    assert "BEGIN" not in repr(generated)
    added = c.add_ssh_key("laptop", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt0 me@laptop")
    assert added.private_key is None
    assert [k.name for k in c.list_ssh_keys()] == ["ops", "laptop"]
    fs = c.create_filesystem("data", "us-west-1")
    (instance_id,) = c.launch(
        request(name="api", hostname="api-1", file_system_names=("data",), tags=(Tag("team", "x"),))
    )
    instance = c.get_instance(instance_id)
    assert instance.status is InstanceStatus.ACTIVE
    assert (instance.ip, instance.hostname, instance.name) == ("127.0.0.1", "api-1", "api")
    assert instance.region.description == "California, USA"
    assert instance.instance_type.specs.gpus == 1
    assert instance.tags == (Tag("team", "x"),)
    assert set(instance.actions) == {"migrate", "rebuild", "restart", "cold_reboot", "terminate"}
    assert [i.id for i in c.list_instances()] == [instance_id]
    assert c.list_filesystems()[0].is_in_use is True
    assert c.rename_instance(instance_id, "renamed").name == "renamed"
    assert [i.id for i in c.restart([instance_id])] == [instance_id]
    (terminating,) = c.terminate([instance_id])
    assert terminating.status is InstanceStatus.TERMINATING
    assert c.list_instances() == []
    c.delete_filesystem(fs.id)
    assert c.list_filesystems() == []
    c.delete_ssh_key(added.id)
    assert [k.name for k in c.list_ssh_keys()] == ["ops"]


def test_instance_types_and_images(env: Env) -> None:
    """Offers carry specs, prices and the regions listing capacity; images parse."""
    env.emulator.set_capacity("gpu_1x_gh200", ["us-east-3", "us-south-1"])
    offers = env.client.instance_types()
    gh200 = offers["gpu_1x_gh200"]
    assert [r.name for r in gh200.regions_with_capacity_available] == ["us-east-3", "us-south-1"]
    assert gh200.instance_type.price_cents_per_hour == 149
    assert offers["gpu_8x_h100_sxm5"].instance_type.specs.gpus == 8
    images = env.client.list_images()
    assert {i.architecture for i in images} == {"x86_64", "arm64"}
    assert all(i.region.name for i in images)


def test_launch_quantity_and_image(env: Env) -> None:
    """quantity > 1 is sent and honoured; an image family is accepted."""
    env.client.generate_ssh_key("ops")
    ids = env.client.launch(request(quantity=2, image_family="lambda-stack-22-04"))
    assert len(ids) == 2
    assert {i.id for i in env.client.list_instances()} == set(ids)


def test_firewall_rulesets(env: Env) -> None:
    """Create, get, list, update, global get/patch, delete."""
    c = env.client
    ssh = FirewallRule(FirewallProtocol.TCP, "0.0.0.0/0", (22, 22), "ssh")
    ping = FirewallRule(FirewallProtocol.ICMP, "10.0.0.1", description="ping")
    ruleset = c.create_firewall_ruleset("web", "us-west-1", [ssh])
    assert ruleset.rules == (ssh,)
    assert ruleset.region is not None and ruleset.region.name == "us-west-1"
    assert c.get_firewall_ruleset(ruleset.id) == ruleset
    assert c.list_firewall_rulesets() == [ruleset]
    updated = c.update_firewall_ruleset(ruleset.id, name="api", rules=[ssh, ping])
    assert updated.name == "api"
    assert updated.rules[1].source_network == "10.0.0.1/32"
    glob = c.patch_global_firewall_ruleset([ssh])
    assert (glob.id, glob.name, glob.rules, glob.region) == (
        "global",
        "Global Firewall Rules",
        (ssh,),
        None,
    )
    assert c.get_global_firewall_ruleset() == glob
    c.delete_firewall_ruleset(ruleset.id)
    assert c.list_firewall_rulesets() == []


# --- error translation -----------------------------------------------------------------------


def test_wrong_key_is_unauthorized(env: Env) -> None:
    """401 global/invalid-api-key -> LambdaUnauthorized with the code."""
    with env.make_client("not-the-key") as wrong:
        error = raises(LambdaUnauthorized, wrong.list_instances)
    assert error.code == "global/invalid-api-key"
    assert "LAMBDA_LABS_API_KEY" in str(error)
    env.emulator.plan.inject(r"/api/v1/instances", status=403)
    inactive = raises(LambdaUnauthorized, env.client.list_instances)
    assert inactive.code == "global/account-inactive"


def test_not_found_by_status_and_by_code(env: Env) -> None:
    """404s and the 400 `object-does-not-exist` of ssh-key delete are LambdaNotFound."""
    c = env.client
    for call in [
        lambda: c.get_instance(InstanceId("0" * 32)),
        lambda: c.terminate([InstanceId("0" * 32)]),
        lambda: c.delete_filesystem(FilesystemId("nope")),
        lambda: c.get_firewall_ruleset(FirewallRulesetId("nope")),
        lambda: c.delete_ssh_key(SshKeyId("nope")),
        lambda: c.launch(request(instance_type_name="gpu_99x_nothing")),
    ]:
        assert raises(LambdaNotFound, call).code == "global/object-does-not-exist"


def test_insufficient_capacity_names_region_and_type(env: Env) -> None:
    """HTTP 400 insufficient-capacity -> InsufficientCapacity(region, instance_type)."""
    env.client.generate_ssh_key("ops")
    env.emulator.set_capacity("gpu_1x_a100_sxm4", ["us-west-2"])
    launch = request(region_name="us-east-1", instance_type_name="gpu_1x_a100_sxm4")
    error = raises(InsufficientCapacity, lambda: env.client.launch(launch))
    assert (error.region, error.instance_type) == ("us-east-1", "gpu_1x_a100_sxm4")
    assert error.code == "instance-operations/launch/insufficient-capacity"


def test_conflicts(env: Env) -> None:
    """Duplicates and in-use objects are LambdaConflict with their codes; so is a 409."""
    c = env.client
    c.generate_ssh_key("ops")
    fs = c.create_filesystem("data", "us-west-1")
    assert raises(LambdaConflict, lambda: c.create_filesystem("data", "us-west-1")).code == (
        "global/duplicate"
    )
    ruleset = c.create_firewall_ruleset("web", "us-west-1", [])
    c.launch(request(file_system_names=("data",), firewall_ruleset_ids=(ruleset.id,)))
    in_use = raises(LambdaConflict, lambda: c.delete_filesystem(fs.id))
    assert in_use.code == "filesystems/filesystem-in-use"
    ruleset_in_use = raises(LambdaConflict, lambda: c.delete_firewall_ruleset(ruleset.id))
    assert ruleset_in_use.code == "firewall-rulesets/firewall-ruleset-in-use"
    env.emulator.plan.inject(r"/api/v1/firewall-rulesets", method="POST", status=409)
    conflict = raises(LambdaConflict, lambda: c.create_firewall_ruleset("x", "us-west-1", []))
    assert conflict.code == "global/internal-error"


def test_invalid_requests(env: Env) -> None:
    """Server-side refusals are LambdaInvalidRequest; client-side ones never leave."""
    error = raises(LambdaInvalidRequest, lambda: env.client.create_filesystem("9bad", "us-west-1"))
    assert error.code == "global/invalid-parameters"
    for bad in [
        {"region_name": "mars-north-1"},
        {"ssh_key_names": ("a", "b")},
        {"name": "n" * 65},
        {"hostname": "Not_OK"},
    ]:
        with pytest.raises(LambdaInvalidRequest, match="before sending"):
            request(**bad)
    with pytest.raises(LambdaInvalidRequest):
        Tag("Bad Key", "v")
    assert [e.path for e in env.emulator.log.mutating()] == ["/api/v1/filesystems"]


def test_429_with_retry_after_beyond_the_bound(env: Env) -> None:
    """Retry-After longer than max_retry_after_s: LambdaRateLimited carrying it, no wait."""
    env.emulator.plan.inject(r"/api/v1/instances", status=429, headers={"Retry-After": "7"})
    with env.make_client(max_retry_after_s=1) as client:
        error = raises(LambdaRateLimited, client.list_instances)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    assert env.sleeps == []


def test_429_without_retry_after(env: Env) -> None:
    """No header: retry_after is None and the call is not repeated."""
    env.emulator.plan.inject(r"/api/v1/instances", status=429, count=2)
    assert raises(LambdaRateLimited, env.client.list_instances).retry_after is None
    assert len(env.emulator.log.entries()) == 1


def test_short_retry_after_is_honoured_once(env: Env) -> None:
    """A Retry-After within the bound is waited (via the injected sleep) and retried once."""
    env.emulator.plan.inject(r"/api/v1/instances", status=429, headers={"Retry-After": "2"})
    assert env.client.list_instances() == []
    assert env.sleeps == [2.0]
    assert [e.status for e in env.emulator.log.entries()] == [429, 200]
    env.emulator.plan.inject(r"/api/v1/images", status=429, count=2, headers={"Retry-After": "1"})
    assert raises(LambdaRateLimited, env.client.list_images).retry_after == 1.0


def test_emulator_launch_rate_limit_is_rate_limited(server: tuple[Swappable, ServedApp]) -> None:
    """The emulator's own launch limiter (12 s) reaches the caller as LambdaRateLimited."""
    swappable, api = server
    emulator = LambdaCloudEmulator(api_key=CANARY, launch_rate_limit_s=12)
    swappable.app = emulator.app()
    with LambdaCloudClient(api.url, SecretStr(CANARY), max_retry_after_s=0) as client:
        client.generate_ssh_key("ops")
        client.launch(request())
        error = raises(LambdaRateLimited, lambda: client.launch(request()))
    assert error.retry_after is not None and 0 < error.retry_after <= 12
    emulator.close()


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "global/internal-error"), (503, "provider/internal-unavailable"), (502, None)],
)
def test_5xx_is_unavailable(env: Env, status: int, code: str | None) -> None:
    """5xx -> LambdaUnavailable (transient), with the code when there is an envelope."""
    body = None if code else "<html>Bad gateway</html>"
    env.emulator.plan.inject(r"/api/v1/instances", status=status, body=body)
    error = raises(LambdaUnavailable, env.client.list_instances)
    assert isinstance(error, Unavailable)
    assert error.code == code


def test_after_effect_launch_is_unavailable_yet_the_instance_exists(env: Env) -> None:
    """The caller sees a transient error; the instance was launched anyway."""
    env.client.generate_ssh_key("ops")
    env.emulator.plan.inject(LAUNCH, mode="after_effect", status=500)
    raises(LambdaUnavailable, lambda: env.client.launch(request()))
    assert len(env.client.list_instances()) == 1


def test_timeout_is_unavailable(env: Env) -> None:
    """A hang longer than the client's timeout is LambdaUnavailable."""
    env.emulator.plan.inject(r"/api/v1/instances", mode="hang", delay_s=1.0)
    with env.make_client(timeout_s=0.2) as client:
        error = raises(LambdaUnavailable, client.list_instances)
    assert "in time" in str(error)


def test_connection_refused_is_unavailable() -> None:
    """A stopped server: LambdaUnavailable naming the call."""
    emulator = LambdaCloudEmulator(api_key=CANARY)
    served = serve_in_thread(emulator.app())
    served.stop()
    with LambdaCloudClient(served.url, SecretStr(CANARY), timeout_s=2) as client:
        error = raises(LambdaUnavailable, client.list_instances)
    assert "GET /instances" in str(error)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"instances": []}),
        (200, {"data": [{"id": 1}]}),
        (200, "plain text"),
        (400, {"detail": "not lambda"}),
    ],
)
def test_malformed_bodies_are_unavailable(env: Env, status: int, body: Any) -> None:
    """A body that is not the expected envelope or shape is LambdaUnavailable, said plainly."""
    env.emulator.plan.inject(r"/api/v1/instances", status=status, body=body)
    error = raises(LambdaUnavailable, env.client.list_instances)
    assert "shape" in str(error) or "envelope" in str(error)


def test_the_key_never_shows(env: Env) -> None:
    """Not in the client's repr/str, nor in an error whose upstream message echoes it."""
    assert CANARY not in repr(env.client) and CANARY not in str(env.client)
    echo = {"error": {"code": "global/invalid-parameters", "message": f"bad key {CANARY}"}}
    env.emulator.plan.inject(r"/api/v1/images", status=400, body=echo)
    error = raises(LambdaInvalidRequest, env.client.list_images)
    assert "***" in str(error)
