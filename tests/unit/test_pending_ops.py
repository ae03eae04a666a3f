"""Settling what a killed `pulumi up` left pending: the pure decisions and the state edit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestra_ops.adapters.pulumi.checkpoint import read_state, settled_checkpoint
from orchestra_ops.adapters.pulumi.provider._common import RESOURCE_TAG as PROVIDER_TAG
from orchestra_ops.domain.lambda_cloud import (
    Filesystem,
    FilesystemId,
    FirewallRuleset,
    FirewallRulesetId,
    Instance,
    InstanceId,
    InstanceSpecs,
    InstanceStatus,
    InstanceType,
    Region,
    SshKey,
    SshKeyId,
    Tag,
)
from orchestra_ops.domain.pending_ops import (
    NAMED_LEFT,
    RESOURCE_TAG,
    Action,
    CloudView,
    plan_settlement,
)

STACK = "urn:pulumi:dev::orchestra-backend::pulumi:pulumi:Stack::orchestra-backend-dev"
PROVIDER = "urn:pulumi:dev::orchestra-backend::pulumi:providers:pulumi-python::default"
INSTANCE_URN = "urn:pulumi:dev::orchestra-backend::pulumi-python:dynamic/lambda:Instance::api-0"
KEY_URN = "urn:pulumi:dev::orchestra-shared::pulumi-python:dynamic/lambda:SshKey::ssh-key"
FS_URN = "urn:pulumi:dev::orchestra-shared::pulumi-python:dynamic/lambda:Filesystem::filesystem"
RULES_URN = "urn:pulumi:dev::orchestra-shared::pulumi-python:dynamic/lambda:FirewallRuleset::fw"
KEY = "94108d82dde39a219da50ba2ac1dea3b"
WEST = Region("us-west-1")
INSTANCE_INPUTS = {
    "__provider": {"4dabf18193072939515e22adb298388d": "1b47...", "ciphertext": "v1:x"},
    "resource_key": KEY,
    "instance_type": "cpu_4x_general",
    "fallback_instance_types": ["gpu_1x_a10"],
    "regions": ["us-west-1"],
    "ssh_key_name": "orchestra-dev",
}


def instance(
    id_: str,
    status: InstanceStatus = InstanceStatus.ACTIVE,
    key: str = KEY,
    type_: str = "cpu_4x_general",
    ssh_key: str = "orchestra-dev",
) -> Instance:
    kind = InstanceType(type_, "", "", 100, InstanceSpecs(4, 16, 100, 0))
    return Instance(
        id=InstanceId(id_),
        status=status,
        region=WEST,
        instance_type=kind,
        ssh_key_names=(ssh_key,),
        file_system_names=(),
        tags=(Tag(RESOURCE_TAG, key), Tag("role", "api")),
    )


def checkpoint(
    pending: list[tuple[str, str, dict[str, Any], str | None]],
    resources: list[dict[str, Any]] | None = None,
) -> str:
    """A checkpoint with a stack and a provider, ``resources`` and pending operations."""
    base = [
        {"urn": STACK, "custom": False, "type": "pulumi:pulumi:Stack"},
        {"urn": PROVIDER, "custom": True, "id": "p-1", "type": "pulumi:providers:pulumi-python"},
    ]
    ops = [
        {
            "type": operation,
            "resource": {
                "urn": urn,
                "custom": True,
                "type": urn.split("::")[2],
                "inputs": inputs,
                "parent": STACK,
                "provider": f"{PROVIDER}::p-1",
                **({"id": id_} if id_ else {}),
            },
        }
        for operation, urn, inputs, id_ in pending
    ]
    deployment = {"resources": base + (resources or []), "pending_operations": ops}
    return json.dumps({"version": 3, "deployment": deployment})


def plan(text: str, cloud: CloudView, declared: frozenset[str] | None = None) -> list[Action]:
    return plan_settlement(read_state(text), cloud, declared)


def verbs(actions: list[Action]) -> list[tuple[str, str | None]]:
    return [(a.verb, a.object_id) for a in actions]


def test_the_provider_tags_instances_with_the_key_the_reconciler_looks_for() -> None:
    assert PROVIDER_TAG == RESOURCE_TAG


def test_nothing_pending_nothing_to_do() -> None:
    assert plan(checkpoint([]), CloudView(instances=(instance("a"),))) == []
    assert read_state(json.dumps({"version": 3, "deployment": None})).pending == ()


def test_a_create_that_never_reached_lambda_is_cleared() -> None:
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)])
    other = instance("b", key="another-key")
    assert verbs(plan(text, CloudView(instances=(other,)))) == [("clear", None)]


def test_an_instance_the_create_launched_is_adopted_even_while_booting() -> None:
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)])
    booting = instance("a", InstanceStatus.BOOTING)
    assert verbs(plan(text, CloudView(instances=(booting,)))) == [("adopt", "a")]


def test_one_resource_one_instance_the_active_one_is_kept() -> None:
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)])
    cloud = CloudView(
        instances=(
            instance("a", InstanceStatus.BOOTING),
            instance("b"),
            instance("c", type_="gpu_8x_h100"),  # same key, another shape
            instance("d", InstanceStatus.TERMINATING),  # already going: not counted
        )
    )
    assert verbs(plan(text, cloud)) == [("adopt", "b"), ("terminate", "a"), ("terminate", "c")]


def test_an_undeclared_resource_is_terminated_not_adopted() -> None:
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)])
    cloud = CloudView(instances=(instance("a"),))
    assert verbs(plan(text, cloud, frozenset())) == [("terminate", "a")]
    assert verbs(plan(text, cloud, frozenset({INSTANCE_URN}))) == [("adopt", "a")]


def test_an_instance_the_state_already_holds_is_never_adopted_again() -> None:
    held = {"urn": INSTANCE_URN, "custom": True, "id": "old", "type": "x", "delete": False}
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)], [held])
    assert verbs(plan(text, CloudView(instances=(instance("old"),)))) == [("clear", None)]


def test_a_named_object_is_left_in_lambda_never_adopted_nor_deleted() -> None:
    """Names are the account's: the key, filesystem or ruleset of that name may be another
    state's, so a killed create of one is cleared and the object left (the next update
    adopts it by name as not this stack's); whether declared or not, generated or not."""
    key = SshKey(SshKeyId("k1"), "orchestra-dev", "ssh-ed25519 AAAA")
    fs = Filesystem(FilesystemId("f1"), "orchestra-dev-data", "/m", "", WEST, True)
    rules = FirewallRuleset(FirewallRulesetId("r1"), "orchestra-dev-api", (), WEST)
    cloud = CloudView(ssh_keys=(key,), filesystems=(fs,), rulesets=(rules,))
    cases = [
        (KEY_URN, {"name": "orchestra-dev"}),  # generated: the private half is lost anyway
        (KEY_URN, {"name": "orchestra-dev", "public_key": "ssh-ed25519 AAAA"}),
        (FS_URN, {"name": "orchestra-dev-data", "region": "us-west-1"}),
        (RULES_URN, {"name": "orchestra-dev-api", "region": "us-west-1", "rules": []}),
    ]
    for urn, inputs in cases:
        text = checkpoint([("creating", urn, inputs, None)])
        for declared in (None, frozenset[str]()):
            (action,) = plan(text, cloud, declared)
            assert (action.verb, action.object_id) == ("clear", None), (urn, inputs)
            assert action.reason == NAMED_LEFT
    nothing = checkpoint([("creating", KEY_URN, {"name": "absent"}, None)])
    assert "never reached Lambda" in plan(nothing, cloud)[0].reason


def test_a_pending_delete_is_forgotten_when_gone_and_kept_when_not() -> None:
    text = checkpoint([("deleting", INSTANCE_URN, INSTANCE_INPUTS, "a")])
    going = CloudView(instances=(instance("a", InstanceStatus.TERMINATING),))
    assert verbs(plan(text, going)) == [("forget", "a")]
    assert verbs(plan(text, CloudView())) == [("forget", "a")]
    assert verbs(plan(text, CloudView(instances=(instance("a"),)))) == [("keep", "a")]


def test_updates_engine_resources_and_unknown_types() -> None:
    text = checkpoint(
        [
            ("updating", INSTANCE_URN, INSTANCE_INPUTS, "a"),
            ("creating", PROVIDER + "x", {}, None),
            ("creating", "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b", {"bucket": "b"}, None),
        ]
    )
    actions = plan(text, CloudView())
    assert [a.verb for a in actions] == ["clear", "clear", "leave"]
    assert "by hand" in actions[2].reason and "aws:s3/bucket:Bucket" in actions[2].reason


def test_a_secret_identifying_input_cannot_be_matched() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47...", "ciphertext": "v1:x"}
    text = checkpoint([("creating", FS_URN, {"name": secret, "region": "us-west-1"}, None)])
    (action,) = plan(text, CloudView())
    assert action.verb == "leave" and "'name'" in action.reason


def test_settled_checkpoint_adopts_forgets_and_clears() -> None:
    replaced = {"urn": INSTANCE_URN, "custom": True, "id": "old", "pendingReplacement": True}
    doomed = {"urn": FS_URN, "custom": True, "id": "f1", "type": "x"}
    text = checkpoint(
        [
            ("creating", INSTANCE_URN, INSTANCE_INPUTS, None),
            ("deleting", FS_URN, {}, "f1"),
        ],
        [replaced, doomed],
    )
    outputs = {**INSTANCE_INPUTS, "instance_id": "new"}
    adopted = {INSTANCE_URN: ("new", outputs)}
    settled = json.loads(settled_checkpoint(text, adopted, {(FS_URN, "f1")}))
    deployment = settled["deployment"]
    assert deployment["pending_operations"] == []
    assert [(r["urn"], r.get("id")) for r in deployment["resources"]] == [
        (STACK, None),
        (PROVIDER, "p-1"),
        (INSTANCE_URN, "new"),
    ]
    made = deployment["resources"][-1]
    assert made["outputs"]["__provider"] == INSTANCE_INPUTS["__provider"]  # ciphertext kept
    assert made["provider"] == f"{PROVIDER}::p-1" and made["parent"] == STACK


def test_an_adoption_next_to_a_live_same_urn_resource_marks_the_old_for_deletion() -> None:
    live = {"urn": INSTANCE_URN, "custom": True, "id": "old"}
    text = checkpoint([("creating", INSTANCE_URN, INSTANCE_INPUTS, None)], [live])
    settled = json.loads(settled_checkpoint(text, {INSTANCE_URN: ("new", {})}, ()))
    same = [r for r in settled["deployment"]["resources"] if r["urn"] == INSTANCE_URN]
    assert [(r["id"], r.get("delete")) for r in same] == [("old", True), ("new", None)]


def test_settled_checkpoint_refuses_an_adoption_without_a_pending_create() -> None:
    with pytest.raises(ValueError, match="no pending create"):
        settled_checkpoint(checkpoint([]), {INSTANCE_URN: ("x", {})}, ())


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        ("{", "not JSON"),
        ('{"deployment": []}', "deployment is not an object"),
        ('{"deployment": {"resources": {"urn": {}}}}', "are not lists"),
        ('{"deployment": {"pending_operations": ["creating"]}}', "names no resource"),
        ('{"deployment": {"pending_operations": [{"type": "creating"}]}}', "names no resource"),
    ],
)
def test_read_state_names_a_bad_checkpoint(deployment: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_state(deployment)
