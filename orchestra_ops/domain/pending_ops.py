"""What a killed ``pulumi up`` left in a stack's state, and how to settle it: pure decisions.

Pulumi records an operation as *pending* in the checkpoint before it asks a provider to
act, and removes it once the answer is recorded. A worker killed in between leaves the
operation there, with its lock. Pulumi 3.274 does not settle them by itself: an update
warns, carries pending creates on for ever and drops the others silently; ``refresh
--import-pending-creates URN ID`` drops the create without importing anything; ``refresh
--clear-pending-creates`` and ``stack import`` forget them. Whatever the create made is
then in Lambda and in no stack.

:func:`plan_settlement` decides, from the pending operations, what the Lambda API holds
and which resources the program declares (None: not known), what becomes of each:

- a pending **create** of an instance whose object exists (a live instance tagged with
  the resource's key, which carries the state's owner id) is **adopted** into the state
  when the program declares the resource, else **terminated**. Other instances with the
  same key are terminated: one logical resource, one instance. A pending create of an SSH
  key, filesystem or firewall ruleset is **cleared** and its object left in Lambda: names
  are the account's, so an object of that name may be another state's, and the next
  update adopts it by name as not this stack's to delete. Nothing found: the create never
  reached Lambda; the operation is cleared.
- a pending **delete**: the resource is **forgotten** when its object is gone or going,
  else **kept** (the next update deletes it again if the program no longer declares it).
- a pending update, read or import: cleared; the state keeps the resource as it was and
  the next update or refresh corrects it.
- the stack, providers and stack references: cleared, nothing of theirs is outside the
  state. A resource type with no Lambda lookup is **left** (settled by hand).

``adapters.pulumi.checkpoint`` reads the checkpoint JSON into a :class:`StackState` and writes
adoptions and forgotten resources into the checkpoint,
without pending operations. Objects already in the state are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from orchestra_ops.domain.lambda_cloud import (
    GONE,
    Filesystem,
    FirewallRuleset,
    Instance,
    InstanceStatus,
    SshKey,
)

RESOURCE_TAG = "orchestra-resource"
"""The instance tag that carries a resource's stable key (see ``provider._common``)."""
OWNER_TAG = "orchestra-owner"
"""The instance tag that names the state whose stack launched it (``adapters.pulumi.backend``)."""


def live_with_key(instance: Instance, key: str) -> bool:
    """The instance is not gone and carries the resource key ``key``."""
    return instance.status not in GONE and any(
        t.key == RESOURCE_TAG and t.value == key for t in instance.tags
    )


INSTANCE, SSH_KEY, FILESYSTEM, RULESET = "instance", "ssh key", "filesystem", "firewall ruleset"
_KINDS = {
    "lambda:Instance": INSTANCE,
    "lambda:SshKey": SSH_KEY,
    "lambda:Filesystem": FILESYSTEM,
    "lambda:FirewallRuleset": RULESET,
}
_DYNAMIC = "pulumi-python:dynamic/"

Verb = Literal["adopt", "terminate", "forget", "keep", "clear", "leave"]


def kind_of(type_token: str) -> str | None:
    """The Lambda object behind a resource type (``pulumi-python:dynamic/lambda:Instance``)."""
    if not type_token.startswith(_DYNAMIC):
        return None
    return _KINDS.get(type_token.removeprefix(_DYNAMIC))


@dataclass(frozen=True)
class PendingOp:
    """One pending operation: ``creating``, ``updating``, ``deleting``, ``reading``..."""

    operation: str
    urn: str
    type: str
    id: str | None
    custom: bool
    inputs: Mapping[str, Any] = field(repr=False)

    @property
    def kind(self) -> str | None:
        """``instance``, ``ssh key``, ``filesystem``, ``firewall ruleset`` or None."""
        return kind_of(self.type)

    @property
    def name(self) -> str:
        """The resource's logical name (the URN's last part)."""
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class StackState:
    """The resources and pending operations of one checkpoint."""

    resources: tuple[Mapping[str, Any], ...]
    pending: tuple[PendingOp, ...]

    def owned_ids(self, kind: str | None = None) -> frozenset[str]:
        """Ids of the resources the state holds (of one Lambda kind, or all)."""
        return frozenset(
            str(r["id"])
            for r in self.resources
            if r.get("id") and (kind is None or kind_of(str(r.get("type", ""))) == kind)
        )


@dataclass(frozen=True)
class CloudView:
    """What the Lambda API holds, listed once before deciding."""

    instances: tuple[Instance, ...] = ()
    ssh_keys: tuple[SshKey, ...] = ()
    filesystems: tuple[Filesystem, ...] = ()
    rulesets: tuple[FirewallRuleset, ...] = ()


@dataclass(frozen=True)
class Action:
    """What to do about one pending operation, or one object it made."""

    verb: Verb
    urn: str
    kind: str | None = None
    object_id: str | None = None
    reason: str = ""

    def describe(self) -> str:
        """One line: ``adopt instance 1a2b... as api-blue-0: ...``."""
        name = self.urn.rsplit("::", 1)[-1]
        what = f"{self.kind} {self.object_id}" if self.object_id else (self.kind or "operation")
        return f"{self.verb} {what} of {name}: {self.reason}"


def plan_settlement(
    state: StackState, cloud: CloudView, declared: frozenset[str] | None
) -> list[Action]:
    """What to do with each pending operation of ``state`` (see the module docstring).

    ``declared``: the URNs the program declares now (None: unknown, so an object that
    exists is adopted and the next update removes it if the program dropped it).
    """
    claimed = set(state.owned_ids())  # an object goes to one resource at most
    actions: list[Action] = []
    for op in state.pending:
        if op.operation == "creating":
            actions += _settle_create(op, cloud, declared, claimed)
        elif op.operation == "deleting":
            actions.append(_settle_delete(op, cloud))
        else:
            why = f"interrupted while {op.operation}; the state keeps the resource as it was"
            actions.append(Action("clear", op.urn, op.kind, op.id, why))
    return actions


def _settle_delete(op: PendingOp, cloud: CloudView) -> Action:
    if op.kind is None or op.id is None:
        return Action("clear", op.urn, op.kind, op.id, "interrupted while deleting")
    if _exists(op.kind, op.id, cloud):
        why = "the delete did not happen; it stays in the state"
        return Action("keep", op.urn, op.kind, op.id, why)
    return Action("forget", op.urn, op.kind, op.id, "deleted (or going) in Lambda")


def _exists(kind: str, object_id: str, cloud: CloudView) -> bool:
    if kind == INSTANCE:
        return any(i.id == object_id and i.status not in GONE for i in cloud.instances)
    listed: dict[str, tuple[SshKey | Filesystem | FirewallRuleset, ...]] = {
        SSH_KEY: cloud.ssh_keys,
        FILESYSTEM: cloud.filesystems,
        RULESET: cloud.rulesets,
    }
    return any(o.id == object_id for o in listed[kind])


def _settle_create(
    op: PendingOp, cloud: CloudView, declared: frozenset[str] | None, claimed: set[str]
) -> list[Action]:
    if op.kind is None:
        if not op.custom or op.type.startswith("pulumi:"):
            return [Action("clear", op.urn, None, None, "nothing of it is outside the state")]
        why = (
            f"no Lambda lookup for {op.type}: check the provider's side and settle it by hand "
            "(`pulumi refresh` interactively, or `pulumi state delete`)"
        )
        return [Action("leave", op.urn, None, None, why)]
    wanted = declared is None or op.urn in declared
    decide = {
        INSTANCE: _create_instance,
        SSH_KEY: _create_named,
        FILESYSTEM: _create_named,
        RULESET: _create_named,
    }[op.kind]
    actions = decide(op, cloud, wanted, claimed)
    claimed.update(a.object_id for a in actions if a.object_id)
    return actions


def _text(inputs: Mapping[str, Any], key: str) -> str | None:
    """A plain (not secret, not empty) string input."""
    value = inputs.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _unreadable(op: PendingOp, key: str) -> list[Action]:
    why = f"its input {key!r} is missing or secret, so its object cannot be looked up"
    return [Action("leave", op.urn, op.kind, None, why)]


def _none_found(op: PendingOp) -> list[Action]:
    return [Action("clear", op.urn, op.kind, None, "the create never reached Lambda")]


_UNDECLARED = "the program no longer declares it"


def _create_instance(
    op: PendingOp, cloud: CloudView, wanted: bool, claimed: set[str]
) -> list[Action]:
    key = _text(op.inputs, "resource_key")
    if key is None:
        return _unreadable(op, "resource_key")
    tagged = [i for i in cloud.instances if i.id not in claimed and live_with_key(i, key)]
    if not tagged:
        return _none_found(op)
    fits = sorted(
        (i for i in tagged if _fits(i, op.inputs)),
        key=lambda i: (i.status is not InstanceStatus.ACTIVE, i.id),
    )
    keep = fits[0] if wanted and fits else None
    actions = [] if keep is None else [Action("adopt", op.urn, INSTANCE, keep.id, "it exists")]
    for other in tagged:
        if other is keep:
            continue
        why = (
            _UNDECLARED
            if not wanted
            else "a second instance for one resource"
            if other in fits
            else "another shape than the resource asks for (an earlier generation)"
        )
        actions.append(Action("terminate", op.urn, INSTANCE, other.id, why))
    return actions


def _fits(instance: Instance, inputs: Mapping[str, Any]) -> bool:
    """The instance is what the resource asks for: its type, SSH key and region."""
    types = [inputs.get("instance_type"), *(inputs.get("fallback_instance_types") or ())]
    regions = list(inputs.get("regions") or ())
    return (
        instance.instance_type.name in types
        and inputs.get("ssh_key_name") in instance.ssh_key_names
        and (not regions or instance.region.name in regions)
    )


#: Why a pending create of a named object is cleared, not adopted (names are the account's).
NAMED_LEFT = (
    "an object of this name exists, but names are the account's (another state's or a "
    "person's object has the same), so whether the killed create made it cannot be told: "
    "left in Lambda; the next update adopts it by name, as not this stack's to delete"
)


def _create_named(op: PendingOp, cloud: CloudView, wanted: bool, claimed: set[str]) -> list[Action]:
    """An SSH key, filesystem or firewall ruleset: never adopted as made here, never deleted."""
    name = _text(op.inputs, "name")
    if name is None:
        return _unreadable(op, "name")
    listed: tuple[SshKey | Filesystem | FirewallRuleset, ...] = (
        cloud.ssh_keys
        if op.kind == SSH_KEY
        else cloud.filesystems
        if op.kind == FILESYSTEM
        else cloud.rulesets
    )
    found = next((o for o in listed if o.name == name and o.id not in claimed), None)
    if found is None:
        return _none_found(op)
    return [Action("clear", op.urn, op.kind, None, NAMED_LEFT)]
