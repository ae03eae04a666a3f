"""LambdaInstanceProvider's CRUD methods against the Lambda emulator over loopback HTTP."""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pydantic import SecretStr

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi.provider._common import OWNER_TAG, RESOURCE_TAG, Timing
from orchestra_ops.adapters.pulumi.provider.lambda_firewall import (
    LambdaFirewallRulesetProvider,
    rules_from,
)
from orchestra_ops.adapters.pulumi.provider.lambda_instance import LambdaInstanceProvider
from orchestra_ops.adapters.pulumi.provider.lambda_resources import (
    LambdaFilesystemProvider,
    LambdaSshKeyProvider,
)
from orchestra_ops.domain.lambda_cloud import InstanceId, LaunchRequest, Tag
from orchestra_ops.domain.placement import check_cost_ceiling, hourly_cost, plan_attempts
from orchestra_ops.errors import (
    ConfigError,
    InstanceNotActive,
    InsufficientCapacity,
    LambdaConflict,
    LambdaNotFound,
    LambdaUnauthorized,
    LambdaUnavailable,
    OpsError,
)
from orchestra_ops.sandbox.faults import Fault
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread

CANARY = "canary-lambda-key-9b1c2d"
LAUNCH = r"/api/v1/instance-operations/launch"
NO_CAPACITY = {
    "error": {
        "code": "instance-operations/launch/insufficient-capacity",
        "message": "Not enough capacity to fulfill launch request.",
    }
}
BOOT_DELAY_S = 5.0


class FakeClock:
    """A clock that only moves when the provider sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Swappable:
    """One loopback server for the module; each test plugs in a fresh emulator."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@dataclass
class Env:
    emulator: LambdaCloudEmulator
    client: LambdaCloudClient
    clock: FakeClock
    provider: LambdaInstanceProvider

    def live(self) -> list[Any]:
        return self.client.list_instances()

    def launches(self) -> int:
        return sum(1 for e in self.emulator.log.entries() if e.path.endswith("/launch"))


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Swappable, ServedApp]]:
    swappable = Swappable()
    with serve_in_thread(swappable) as api:
        yield swappable, api


@pytest.fixture
def env(
    server: tuple[Swappable, ServedApp], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[Env]:
    swappable, api = server
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
    monkeypatch.setenv("LAMBDA_LABS_API_URL", api.url)
    clock = FakeClock()
    emulator = LambdaCloudEmulator(api_key=CANARY, clock=clock, boot_delay_s=BOOT_DELAY_S)
    swappable.app = emulator.app()
    provider = LambdaInstanceProvider(timing=Timing(clock=clock, sleep=clock.sleep))
    with LambdaCloudClient(api.url, SecretStr(CANARY), timeout_s=5) as client:
        client.add_ssh_key("ops", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt0 ops@ci")
        emulator.log.clear()
        yield Env(emulator, client, clock, provider)
    emulator.close()


def props(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "api-0",
        "instance_type": "gpu_1x_a10",
        "fallback_instance_types": [],
        "regions": ["us-west-1", "us-east-1"],
        "ssh_key_name": "ops",
        "tags": {"env": "dev"},
        "resource_key": "0123456789abcdef0123456789abcdef",
        "active_timeout_s": 60,
        "poll_s": 5,
    }
    base.update(overrides)
    return base


def no_leak(error: BaseException) -> None:
    for text in (str(error), repr(error), str(error.__cause__), repr(error.__cause__)):
        assert CANARY not in text


# --- create --------------------------------------------------------------------------------


def test_create_launches_waits_for_active_and_tags(env: Env) -> None:
    result = env.provider.create(props())
    outs = result.outs or {}
    assert outs["instance_id"] == result.id
    assert outs["status"] == "active"
    assert (outs["region"], outs["chosen_instance_type"]) == ("us-west-1", "gpu_1x_a10")
    assert outs["ip"] and outs["live_hostname"]
    instance = env.client.get_instance(InstanceId(result.id))
    assert Tag(RESOURCE_TAG, props()["resource_key"]) in instance.tags
    assert Tag("env", "dev") in instance.tags
    assert sum(env.clock.sleeps) >= BOOT_DELAY_S  # it polled until the boot finished


def test_create_twice_adopts_instead_of_launching_again(env: Env) -> None:
    first = env.provider.create(props())
    second = env.provider.create(props())
    assert second.id == first.id
    assert len(env.live()) == 1
    assert env.launches() == 1


def test_refused_in_first_region_falls_back_to_the_next(env: Env) -> None:
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=400, body=NO_CAPACITY))
    outs = env.provider.create(props()).outs or {}
    assert outs["region"] == "us-east-1"
    assert len(env.live()) == 1


def test_region_without_listed_capacity_is_skipped(env: Env) -> None:
    env.emulator.set_capacity("gpu_1x_a10", ["us-east-1"])
    outs = env.provider.create(props()).outs or {}
    assert outs["region"] == "us-east-1"
    assert env.launches() == 1


def test_type_fallback(env: Env) -> None:
    env.emulator.set_capacity("gpu_1x_a10", [])
    outs = (
        env.provider.create(
            props(
                fallback_instance_types=["gpu_1x_a100_sxm4"],
                regions=["us-west-1", "us-west-2"],
            )
        ).outs
        or {}
    )
    assert (outs["chosen_instance_type"], outs["region"]) == ("gpu_1x_a100_sxm4", "us-west-2")


def test_an_api_that_never_answers_is_unavailable_not_out_of_capacity(env: Env) -> None:
    """Every launch answers 503 (a hang looks the same): the error says so, and is transient."""
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=503, count=None))
    with pytest.raises(LambdaUnavailable) as info:
        env.provider.create(props())
    message = str(info.value)
    assert "did not answer any launch" in message and "nothing was refused for capacity" in message
    assert "gpu_1x_a10 in us-west-1: no answer after 3 tries" in message
    assert not isinstance(info.value, InsufficientCapacity)
    assert env.live() == []


def test_exhausted_everywhere_fails_clearly_and_leaves_nothing(env: Env) -> None:
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=400, body=NO_CAPACITY, count=None))
    with pytest.raises(InsufficientCapacity) as info:
        env.provider.create(props(fallback_instance_types=["gpu_1x_gh200", "gpu_9x_nope"]))
    message = str(info.value)
    for tried in (
        "gpu_1x_a10 in us-west-1: no capacity",
        "gpu_1x_a10 in us-east-1: no capacity",
        "gpu_1x_gh200: no capacity listed in us-west-1, us-east-1",
        "gpu_9x_nope: not an instance type",
    ):
        assert tried in message
    no_leak(info.value)
    assert env.live() == []


def test_launch_that_succeeded_but_answered_500_is_adopted(env: Env) -> None:
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=500, mode="after_effect"))
    result = env.provider.create(props())
    (only,) = env.live()
    assert only.id == result.id
    assert env.launches() == 1


def test_plain_500_relists_then_launches_again(env: Env) -> None:
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=503))
    result = env.provider.create(props())
    assert [i.id for i in env.live()] == [result.id]
    assert env.launches() == 2


def test_429_with_retry_after_then_success(env: Env) -> None:
    env.emulator.plan.add(
        Fault(LAUNCH, method="POST", status=429, headers={"Retry-After": "3"}, count=1)
    )
    result = env.provider.create(props())
    assert env.clock.sleeps[0] == 3.0
    assert [i.id for i in env.live()] == [result.id]


def test_429_without_retry_after_waits_the_launch_interval(env: Env) -> None:
    env.emulator.plan.add(Fault(LAUNCH, method="POST", status=429, count=2))
    result = env.provider.create(props())
    assert env.clock.sleeps[:2] == [12.0, 12.0]
    assert [i.id for i in env.live()] == [result.id]


def test_never_active_is_terminated_and_fails(env: Env) -> None:
    env.emulator.never_activate("gpu_1x_a10")
    with pytest.raises(InstanceNotActive) as info:
        env.provider.create(props(active_timeout_s=30, poll_s=5))
    assert info.value.status == "booting"
    assert env.live() == []
    with pytest.raises(LambdaNotFound):
        env.client.get_instance(InstanceId(info.value.instance_id))


def test_adopts_an_instance_launched_earlier_with_its_key(env: Env) -> None:
    key = props()["resource_key"]
    (earlier,) = env.client.launch(
        LaunchRequest(
            region_name="us-east-1",
            instance_type_name="gpu_1x_a10",
            ssh_key_names=("ops",),
            name="api-0",
            tags=(Tag(RESOURCE_TAG, key),),
        )
    )
    env.emulator.log.clear()
    result = env.provider.create(props())
    assert result.id == earlier
    assert env.launches() == 0


def test_filesystem_pins_the_region(env: Env) -> None:
    env.client.create_filesystem("data", "us-east-1")
    outs = env.provider.create(props(file_system_names=["data"])).outs or {}
    assert outs["region"] == "us-east-1"


# --- read, diff, update, delete ------------------------------------------------------------


def test_read_live_missing_and_terminated(env: Env) -> None:
    created = env.provider.create(props())
    live = env.provider.read(created.id, {**props(), **(created.outs or {})})
    assert live.id == created.id and (live.outs or {})["status"] == "active"
    assert env.provider.read("0" * 32, props()).id is None
    env.client.terminate([InstanceId(created.id)])
    assert env.provider.read(created.id, props()).id is None  # terminating counts as gone
    env.clock.sleep(BOOT_DELAY_S + 1)
    gone = env.provider.read(created.id, props())
    assert gone.id is None and gone.outs == {}


def test_diff_rename_is_an_update_and_launch_inputs_replace(env: Env) -> None:
    olds = {**props(), "region": "us-west-1", "chosen_instance_type": "gpu_1x_a10"}
    rename = env.provider.diff("i", olds, props(name="api-renamed"))
    assert rename.changes and rename.replaces == []
    same = env.provider.diff("i", olds, props())
    assert not same.changes
    for change, expected in (
        ({"instance_type": "gpu_1x_gh200"}, ["instance_type"]),
        ({"image": "lambda-stack-22-04"}, ["image"]),
        ({"ssh_key_name": "other"}, ["ssh_key_name"]),
        ({"regions": ["us-east-1"]}, ["regions"]),
    ):
        diff = env.provider.diff("i", olds, props(**change))
        assert diff.changes and diff.replaces == expected
        assert diff.delete_before_replace
    moved = {**olds, "chosen_instance_type": "gpu_1x_a100_sxm4"}
    assert env.provider.diff("i", moved, props()).replaces == ["fallback_instance_types"]


def test_update_renames_in_place(env: Env) -> None:
    created = env.provider.create(props())
    olds = created.outs or {}
    updated = env.provider.update(created.id, olds, props(name="api-renamed"))
    assert (updated.outs or {})["name"] == "api-renamed"
    assert (updated.outs or {})["instance_id"] == created.id
    assert env.client.get_instance(InstanceId(created.id)).name == "api-renamed"


def test_delete_waits_until_terminated(env: Env) -> None:
    created = env.provider.create(props())
    before = env.clock.now
    env.provider.delete(created.id, created.outs or {})
    assert env.clock.now - before > BOOT_DELAY_S  # polled through "terminating"
    assert env.live() == []
    env.provider.delete(created.id, created.outs or {})  # already gone: no error


def test_check_reports_bad_inputs(env: Env) -> None:
    result = env.provider.check({}, props(regions=["mars-1"], name="", hostname="Bad_Host"))
    assert {f.property for f in result.failures} == {"regions", "name", "hostname"}
    assert env.provider.check({}, props()).failures == []


# --- secrets and pickling ------------------------------------------------------------------


def _pulumi_dump(provider: LambdaInstanceProvider) -> bytes:
    return base64.b64decode(serialize_provider(provider))


@pytest.mark.parametrize(
    ("dump", "load"),
    [
        pytest.param(lambda p: dill.dumps(p, recurse=True), dill.loads, id="dill"),
        pytest.param(pickle.dumps, pickle.loads, id="pickle"),
        pytest.param(_pulumi_dump, dill.loads, id="pulumi-serializer"),
    ],
)
def test_provider_pickles_without_the_key(
    env: Env,
    dump: Callable[[LambdaInstanceProvider], bytes],
    load: Callable[[bytes], Any],
) -> None:
    provider = LambdaInstanceProvider()
    data = dump(provider)
    assert CANARY.encode() not in data
    assert CANARY not in repr(provider)
    restored = load(data)
    assert isinstance(restored, LambdaInstanceProvider)
    # The restored provider still works: it reads the key from the environment at call time.
    assert restored.read("0" * 32, props()).id is None


#: Providers as ``serialize_provider`` pickled them into stack state before they moved from
#: ``orchestra_ops.provider`` into the Pulumi wing (class name -> base64, as state holds it).
FORMER_STATE = json.loads((Path(__file__).parent / "former_state.json").read_text())["providers"]
PROVIDERS = (
    LambdaInstanceProvider,
    LambdaFilesystemProvider,
    LambdaSshKeyProvider,
    LambdaFirewallRulesetProvider,
)


@pytest.mark.parametrize("provider_class", PROVIDERS, ids=lambda c: c.__name__)
def test_state_written_before_the_move_still_loads_its_provider(
    env: Env, provider_class: type[Any]
) -> None:
    """Pulumi's provider host unpickles ``__provider`` (dill) to read, refresh or delete."""
    data = base64.b64decode(FORMER_STATE[provider_class.__name__])
    assert b"orchestra_ops.provider." in data  # the former module names, as stored
    restored = dill.loads(data)  # noqa: S301 (our own state, as Pulumi loads it)
    assert type(restored) is provider_class
    if provider_class is LambdaInstanceProvider:
        assert restored.read("0" * 32, props()).id is None  # and it works
    # What is pickled from now on names the wing, not the former package.
    assert b"orchestra_ops.provider." not in _pulumi_dump(provider_class())


def test_wrong_key_error_does_not_leak(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY + "-wrong")
    with pytest.raises(LambdaUnauthorized) as info:
        env.provider.create(props())
    for text in (str(info.value), repr(info.value), str(info.value.__cause__)):
        assert CANARY not in text


def test_missing_key_is_a_config_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_LABS_API_KEY")
    with pytest.raises(OpsError, match="LAMBDA_LABS_API_KEY"):
        env.provider.create(props())


# --- SSH keys, filesystems, firewall rulesets ------------------------------------------------

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt1 deploy@ci"
RULES = [
    {"protocol": "tcp", "port_range": [22, 22], "source_network": "0.0.0.0/0", "description": "ssh"}
]


def timing(env: Env) -> Timing:
    return Timing(clock=env.clock, sleep=env.clock.sleep)


def test_ssh_key_create_is_idempotent_by_name_and_read_delete(env: Env) -> None:
    provider = LambdaSshKeyProvider(timing(env))
    first = provider.create({"name": "deploy", "public_key": PUBLIC_KEY})
    again = provider.create({"name": "deploy", "public_key": PUBLIC_KEY})
    assert again.id == first.id
    assert [k.name for k in env.client.list_ssh_keys()].count("deploy") == 1
    with pytest.raises(LambdaConflict):
        provider.create({"name": "deploy", "public_key": PUBLIC_KEY.replace("Gt1", "Gt2")})
    assert provider.read(first.id, {"name": "deploy"}).id == first.id
    provider.delete(first.id, first.outs or {})
    provider.delete(first.id, first.outs or {})  # already gone: fine
    assert provider.read(first.id, {"name": "deploy"}).id is None


def test_generated_ssh_key_returns_its_private_half_once(env: Env) -> None:
    provider = LambdaSshKeyProvider(timing(env))
    outs = provider.create({"name": "generated"}).outs or {}
    assert str(outs["private_key"]).startswith("-----BEGIN")
    adopted = provider.create({"name": "generated"}).outs or {}
    assert adopted["private_key"] is None


def test_ssh_key_diff_keeps_a_generated_key_and_replaces_on_a_new_public_key(env: Env) -> None:
    provider = LambdaSshKeyProvider(timing(env))
    generated = provider.create({"name": "gen"})
    olds = dict(generated.outs or {})
    assert not provider.diff(generated.id, olds, {"name": "gen"}).changes
    assert provider.diff(generated.id, olds, {"name": "gen", "public_key": PUBLIC_KEY}).replaces

    given = provider.create({"name": "given", "public_key": PUBLIC_KEY})
    kept = dict(given.outs or {})
    assert not provider.diff(given.id, kept, {"name": "given", "public_key": PUBLIC_KEY}).changes
    other = PUBLIC_KEY.replace("Gt1", "Gt2")
    changed = provider.diff(given.id, kept, {"name": "given", "public_key": other})
    assert changed.replaces == ["public_key"]
    assert provider.diff(given.id, kept, {"name": "given"}).replaces == ["public_key"]
    assert provider.diff(given.id, kept, {"name": "renamed", "public_key": PUBLIC_KEY}).replaces


def test_filesystem_adopts_by_name_and_region(env: Env) -> None:
    provider = LambdaFilesystemProvider(timing(env))
    first = provider.create({"name": "shared-data", "region": "us-west-1"})
    assert provider.create({"name": "shared-data", "region": "us-west-1"}).id == first.id
    assert len(env.client.list_filesystems()) == 1
    with pytest.raises(LambdaConflict, match="us-west-1"):
        provider.create({"name": "shared-data", "region": "us-east-1"})
    diff = provider.diff(
        first.id,
        {"name": "shared-data", "region": "us-west-1"},
        {"name": "shared-data", "region": "us-east-1"},
    )
    assert diff.replaces == ["region"]
    provider.delete(first.id, first.outs or {})
    assert provider.read(first.id, {}).id is None


def test_firewall_ruleset_create_update_read_delete(env: Env) -> None:
    provider = LambdaFirewallRulesetProvider(timing(env))
    inputs = {"name": "api", "region": "us-west-1", "rules": RULES}
    created = provider.create(inputs)
    assert provider.create(inputs).id == created.id  # adopted by name and region
    https = {
        "protocol": "tcp",
        "port_range": [443, 443],
        "source_network": "0.0.0.0/0",
        "description": "https",
    }
    news = {**inputs, "rules": [*RULES, https]}
    diff = provider.diff(created.id, created.outs or {}, news)
    assert diff.changes and diff.replaces == []
    provider.update(created.id, created.outs or {}, news)
    read = provider.read(created.id, inputs)
    assert [r["port_range"] for r in (read.outs or {})["rules"]] == [[22, 22], [443, 443]]
    assert provider.diff(created.id, inputs, {**inputs, "region": "us-east-1"}).replaces == [
        "region"
    ]
    provider.delete(created.id, created.outs or {})
    assert provider.read(created.id, inputs).id is None


def test_tagged_instance_of_another_shape_is_not_adopted(env: Env) -> None:
    env.client.add_ssh_key("other", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGt3 other@ci")
    (foreign,) = env.client.launch(
        LaunchRequest(
            region_name="us-west-1",
            instance_type_name="gpu_1x_a10",
            ssh_key_names=("other",),
            tags=(Tag(RESOURCE_TAG, props()["resource_key"]),),
        )
    )
    result = env.provider.create(props())
    assert result.id != foreign
    assert {i.id for i in env.live()} == {foreign, result.id}


# --- the placement planner the provider uses -------------------------------------------------


def test_placement_orders_types_then_regions_and_prices(env: Env) -> None:
    offers = env.client.instance_types()
    plan = plan_attempts(
        offers, ["gpu_1x_a10", "gpu_1x_a100_sxm4", "nope"], ["us-east-1", "us-west-2", "us-west-1"]
    )
    assert [(a.instance_type, a.region) for a in plan.attempts] == [
        ("gpu_1x_a10", "us-east-1"),
        ("gpu_1x_a10", "us-west-1"),
        ("gpu_1x_a100_sxm4", "us-west-2"),
    ]
    assert plan.skipped == ("nope: not an instance type Lambda offers",)
    assert [a.region for a in plan_attempts(offers, ["gpu_1x_a10"], []).attempts] == [
        "us-west-1",
        "us-east-1",
    ]
    a10 = offers["gpu_1x_a10"]
    assert hourly_cost(a10, 2) == Decimal("1.50")
    check_cost_ceiling(a10, 2, Decimal("1.50"))
    with pytest.raises(ConfigError, match=r"costs \$1.50/h, above the ceiling of \$1/h"):
        check_cost_ceiling(a10, 2, Decimal("1"))


def test_what_a_create_adopted_by_name_is_left_by_its_delete(env: Env) -> None:
    """Names are the account's: a key, filesystem or ruleset another state (or a person)
    made is adopted, not owned, and survives this stack's delete; what it made goes."""
    keys = LambdaSshKeyProvider(timing(env))
    theirs = env.client.add_ssh_key("team-key", PUBLIC_KEY)
    adopted = keys.create({"name": "team-key", "public_key": PUBLIC_KEY})
    assert adopted.id == theirs.id and (adopted.outs or {})["created"] is False
    keys.delete(adopted.id, adopted.outs or {})
    assert theirs.id in [k.id for k in env.client.list_ssh_keys()]
    made = keys.create({"name": "own-key", "public_key": PUBLIC_KEY})
    assert (made.outs or {})["created"] is True
    keys.delete(made.id, made.outs or {})
    assert made.id not in [k.id for k in env.client.list_ssh_keys()]

    filesystems = LambdaFilesystemProvider(timing(env))
    their_fs = env.client.create_filesystem("team-data", "us-west-1")
    fs = filesystems.create({"name": "team-data", "region": "us-west-1"})
    filesystems.delete(fs.id, fs.outs or {})
    assert [f.id for f in env.client.list_filesystems()] == [their_fs.id]

    rulesets = LambdaFirewallRulesetProvider(timing(env))
    inputs = {"name": "team-fw", "region": "us-west-1", "rules": RULES}
    their_rules = rulesets.create(inputs)  # made here: this one is deleted by its delete
    adopted_rules = rulesets.create(inputs)  # the same rules: adopted, not owned
    assert (adopted_rules.outs or {})["created"] is False
    rulesets.delete(adopted_rules.id, adopted_rules.outs or {})
    assert rulesets.read(their_rules.id, inputs).id == their_rules.id
    rulesets.delete(their_rules.id, their_rules.outs or {})
    assert rulesets.read(their_rules.id, inputs).id is None
    # State written before the marker: whose, nobody can tell, so nothing is deleted.
    keys.delete(theirs.id, {"name": "team-key", "public_key": PUBLIC_KEY})
    assert theirs.id in [k.id for k in env.client.list_ssh_keys()]


def test_another_stacks_ruleset_keeps_its_rules(env: Env) -> None:
    """Adopting by name never rewrites the rules of a ruleset this stack did not make."""
    rulesets = LambdaFirewallRulesetProvider(timing(env))
    rules = rules_from({"rules": RULES})
    theirs = env.client.create_firewall_ruleset("team-fw", "us-west-1", rules)
    narrower = [{**RULES[0], "source_network": "10.9.9.0/24"}]
    ours = {"name": "team-fw", "region": "us-west-1", "rules": narrower}
    with pytest.raises(LambdaConflict, match="not made by this stack"):
        rulesets.create(ours)
    adopted = rulesets.create({"name": "team-fw", "region": "us-west-1", "rules": RULES})
    with pytest.raises(LambdaConflict, match="not made by this stack"):
        rulesets.update(adopted.id, adopted.outs or {}, ours)
    assert env.client.get_firewall_ruleset(theirs.id).rules == theirs.rules


def test_an_owned_launch_is_tagged_with_its_owner_and_keyed_apart(env: Env) -> None:
    theirs = props(resource_key="a" * 32, owner="0123456789abcdef")
    ours = props(resource_key="b" * 32, owner="fedcba9876543210")
    first = env.provider.create(theirs)
    second = env.provider.create(ours)
    assert first.id != second.id  # another owner's key: launched, not adopted
    tags = env.client.get_instance(InstanceId(second.id)).tags
    assert Tag(OWNER_TAG, "fedcba9876543210") in tags
