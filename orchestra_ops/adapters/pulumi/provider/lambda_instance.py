"""``LambdaInstance``: a Lambda Cloud instance as a Pulumi dynamic resource.

Create adopts before it launches and falls back across types and regions (see
``_launch``); only the name can change in place (POST rename), every launch-time input
replaces the instance, deleting the old one first so two never carry the same key.
Read reports a terminated or missing instance as gone: ``ReadResult`` with no id, which
the engine takes as "deleted outside Pulumi".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from orchestra_ops.adapters.pulumi.provider._common import (
    Timing,
    inputs_of,
    open_client,
    pickler_restored,
    resource_key,
)
from orchestra_ops.adapters.pulumi.provider._launch import launch_or_adopt, terminate_and_wait
from orchestra_ops.adapters.pulumi.provider._spec import InstanceSpec, input_problems
from orchestra_ops.domain.lambda_cloud import GONE, Instance, InstanceId
from orchestra_ops.errors import LambdaNotFound

REPLACING_INPUTS = (
    "instance_type",
    "image",
    "ssh_key_name",
    "hostname",
    "file_system_names",
    "firewall_ruleset_ids",
    "tags",
)
"""Inputs fixed at launch: the API has no call to change them, so a change replaces."""


def instance_outputs(props: dict[str, Any], instance: Instance) -> dict[str, Any]:
    """The inputs plus what Lambda says about the instance now."""
    return {
        **inputs_of(props),
        "name": instance.name or props.get("name"),
        "instance_id": instance.id,
        "status": instance.status.value,
        "region": instance.region.name,
        "chosen_instance_type": instance.instance_type.name,
        "price_cents_per_hour": instance.instance_type.price_cents_per_hour,
        "ip": instance.ip,
        "private_ip": instance.private_ip,
        "live_hostname": instance.hostname,
    }


class LambdaInstanceProvider(ResourceProvider):
    """CRUD of one Lambda Cloud instance; picklable (no client, no key inside)."""

    def __init__(self, timing: Timing | None = None, http_timeout_s: float | None = None) -> None:
        super().__init__()
        self._timing = timing or Timing()
        self._http_timeout_s = http_timeout_s

    def __repr__(self) -> str:
        return "LambdaInstanceProvider()"

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Refuse inputs Lambda would refuse, before anything is launched."""
        return CheckResult(news, [CheckFailure(p, r) for p, r in input_problems(news)])

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt this resource's instance, or launch one, and wait until it is active."""
        spec = InstanceSpec.from_props(props)
        with open_client(self._timing, self._http_timeout_s) as api:
            instance = launch_or_adopt(api, spec, self._timing)
        return CreateResult(instance.id, instance_outputs(props, instance))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh; a terminated or missing instance is reported gone (no id)."""
        with open_client(self._timing, self._http_timeout_s) as api:
            try:
                instance = api.get_instance(InstanceId(id_))
            except LambdaNotFound:
                return ReadResult(None, {})
        if instance.status in GONE:
            return ReadResult(None, {})
        return ReadResult(id_, instance_outputs(props, instance))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on launch-time inputs (and a region or type no longer allowed); rename else."""
        replaces = [k for k in REPLACING_INPUTS if _norm(olds.get(k)) != _norm(news.get(k))]
        regions = list(news.get("regions") or [])
        if regions and olds.get("region") not in regions:
            replaces.append("regions")
        chosen = olds.get("chosen_instance_type")
        allowed = [news.get("instance_type"), *(news.get("fallback_instance_types") or [])]
        if chosen is not None and chosen not in allowed and "instance_type" not in replaces:
            replaces.append("fallback_instance_types")
        renamed = olds.get("name") != news.get("name")
        return DiffResult(
            changes=bool(replaces) or renamed,
            replaces=replaces,
            stables=["resource_key"],
            delete_before_replace=True,
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rename in place (the only change the API allows)."""
        with open_client(self._timing, self._http_timeout_s) as api:
            instance = api.rename_instance(InstanceId(id_), str(news["name"]))
        return UpdateResult({**inputs_of(olds), **instance_outputs(news, instance)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Terminate and wait (bounded by ``active_timeout_s``) until it is gone."""
        spec = InstanceSpec.from_props(props)
        with open_client(self._timing, self._http_timeout_s) as api:
            terminate_and_wait(
                api, InstanceId(id_), spec.active_timeout_s, spec.poll_s, self._timing
            )


def _norm(value: Any) -> Any:
    """Empty and missing compare equal; tags compare as dicts."""
    if value in (None, "", [], {}, ()):
        return None
    return dict(value) if isinstance(value, dict) else value


@dataclass(frozen=True)
class LambdaInstanceArgs:
    """The inputs of a LambdaInstance (plain values or pulumi Inputs)."""

    name: Any
    instance_type: Any
    regions: Any
    ssh_key_name: Any
    fallback_instance_types: Any = field(default_factory=list)
    image: Any = None
    file_system_names: Any = field(default_factory=list)
    firewall_ruleset_ids: Any = field(default_factory=list)
    tags: Any = field(default_factory=dict)
    hostname: Any = None
    active_timeout_s: Any = None
    poll_s: Any = None
    #: The state's owner id (``adapters.pulumi.backend.state_owner``): part of the
    #: resource key and a tag of the instance, so no other state adopts or retires it.
    owner: str | None = None


class LambdaInstance(pulumi.dynamic.Resource, module="lambda", name="Instance"):
    """A Lambda Cloud instance; the API key comes from LAMBDA_LABS_API_KEY at run time."""

    instance_id: pulumi.Output[str]
    ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    live_hostname: pulumi.Output[str]
    region: pulumi.Output[str]
    chosen_instance_type: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        args: LambdaInstanceArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: LambdaInstanceProvider | None = None,
    ) -> None:
        identity = (pulumi.get_project(), pulumi.get_stack(), "lambda:Instance", resource_name)
        key = resource_key(*((args.owner,) if args.owner else ()), *identity)
        props: dict[str, Any] = {
            # Not asdict(): it deep-copies, and pulumi Outputs must pass through as they are.
            **{f.name: getattr(args, f.name) for f in fields(args)},
            "resource_key": key,
            "instance_id": None,
            "ip": None,
            "private_ip": None,
            "live_hostname": None,
            "region": None,
            "chosen_instance_type": None,
            "status": None,
            "price_cents_per_hour": None,
        }
        with pickler_restored():
            super().__init__(provider or LambdaInstanceProvider(), resource_name, props, opts)
