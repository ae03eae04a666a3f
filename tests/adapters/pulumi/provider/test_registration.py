"""Registering dynamic resources leaves the pickler as it was (pulumi's serializer does not)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from orchestra_ops.adapters.pulumi.provider.lambda_firewall import LambdaFirewallRuleset
from orchestra_ops.adapters.pulumi.provider.lambda_instance import (
    LambdaInstance,
    LambdaInstanceArgs,
)
from orchestra_ops.adapters.pulumi.provider.lambda_resources import (
    LambdaFilesystem,
    LambdaFilesystemProvider,
    LambdaSshKey,
)
from tests.pulumi_mocks import mocked_pulumi


class Echo(pulumi.runtime.Mocks):  # type: ignore[misc]
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def pickler_state() -> tuple[object, object]:
    return pickle._Pickler._batch_setitems, pickle._Pickler.save_dict  # type: ignore[attr-defined]


def test_pulumis_serializer_alone_stacks_a_layer_per_call() -> None:
    """Why the providers restore it: the SDK's own behaviour, measured."""
    before = pickler_state()
    try:
        serialize_provider(LambdaFilesystemProvider())
        assert pickler_state() != before
    finally:
        pickle._Pickler._batch_setitems, pickle._Pickler.save_dict = before  # type: ignore[attr-defined]


@pytest.fixture
def mocks() -> Iterator[None]:
    with mocked_pulumi(Echo(), project="orchestra-backend", stack="dev"):
        yield


@pulumi.runtime.test
def test_many_registrations_leave_the_pickler_unchanged(mocks: None) -> Any:
    before = pickler_state()
    for index in range(200):
        LambdaFilesystem(f"fs-{index}", name=f"fs-{index}", region="us-west-1")
    LambdaSshKey("key", name="k")
    LambdaFirewallRuleset("fw", name="fw", region="us-west-1", rules=[])
    args = LambdaInstanceArgs(name="i", instance_type="t", regions=["us-west-1"], ssh_key_name="k")
    LambdaInstance("api", args)
    assert pickler_state() == before
