"""Blue-green provisioning of the backend stack, as pure decisions over plain data.

A backend stack holds the API instances of one colour, or of both while a new colour is
brought up and health-gated next to the serving one. These functions read the stack's
outputs, decide what the next rollout does, and recognise what a rollout left behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from orchestra_ops.domain.lambda_cloud import GONE, Instance
from orchestra_ops.domain.pending_ops import OWNER_TAG

#: An environment the roadmap provisions: its own shared and backend stacks.
Environment = Literal["dev", "prod"]
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)
COLOURS = ("blue", "green")
ROLE_TAG = ("role", "api")


def stacks_target(environment: str) -> tuple[str, str]:
    """The target (kind, name) an environment's provisioning runs lock, and recover with them."""
    return "stack", f"backend-{environment}"


def other_colour(colour: str) -> str:
    """``green`` for ``blue`` and the other way round."""
    if colour not in COLOURS:
        raise ValueError(f"colour must be one of {COLOURS}, not {colour!r}")
    return COLOURS[1 - COLOURS.index(colour)]


@dataclass(frozen=True)
class ApiInstance:
    """One API instance as the backend stack reports it."""

    id: str
    ip: str | None
    hostname: str | None
    region: str | None
    instance_type: str | None


@dataclass(frozen=True)
class StackColours:
    """What the backend stack holds: instances per colour, and which colour serves."""

    instances: Mapping[str, tuple[ApiInstance, ...]]
    active: str | None

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, object]) -> StackColours:
        """Read the ``colours`` and ``active_colour`` outputs (an empty stack has neither)."""
        raw = outputs.get("colours") or {}
        if not isinstance(raw, Mapping):
            raise ValueError("the backend stack's `colours` output is not a mapping")
        instances = {
            str(colour): tuple(_instance(item) for item in (items or ()))
            for colour, items in raw.items()
        }
        active = outputs.get("active_colour")
        return cls(instances, str(active) if active and instances else None)


def _instance(item: object) -> ApiInstance:
    if not isinstance(item, Mapping) or not item.get("id"):
        raise ValueError(f"an instance in the `colours` output has no id: {item!r}")

    def text(key: str) -> str | None:
        value = item.get(key)
        return str(value) if value else None

    return ApiInstance(
        str(item["id"]), text("ip"), text("hostname"), text("region"), text("instance_type")
    )


@dataclass(frozen=True)
class Rollout:
    """One blue-green rollout: who serves now, the colour brought up, what to clear first."""

    serving: str | None
    new: str
    leftover: str | None

    def config_during(self) -> dict[str, str]:
        """The stack config while the new colour is brought up (the old one still serves)."""
        colours = [c for c in COLOURS if c in (self.serving, self.new)]
        return colour_config(colours, self.serving or self.new)


def colour_config(colours: Sequence[str], active: str) -> dict[str, str]:
    """The backend stack config that gives ``colours`` instances and lets ``active`` serve."""
    if active not in colours:
        raise ValueError(f"the serving colour {active!r} is not among {list(colours)}")
    return {"colours": json.dumps(list(colours)), "active_colour": active}


def plan_rollout(current: StackColours) -> Rollout:
    """The next rollout: the new colour is the one not serving (``blue`` on a fresh stack).

    A colour that is present but not serving was left by an interrupted rollout; it is
    torn down before anything new is launched.
    """
    serving = current.active
    leftover = next((c for c in current.instances if c != serving), None) if serving else None
    return Rollout(serving, other_colour(serving) if serving else COLOURS[0], leftover)


def health_url(template: str, instance: ApiInstance, port: int) -> str:
    """The instance's health URL from the template (``{ip}``, ``{port}``, ``{instance_id}``)."""
    if instance.ip is None and "{ip}" in template:
        raise ValueError(f"instance {instance.id} has no IP yet")
    return template.format(ip=instance.ip, port=port, instance_id=instance.id)


def _api_instances_of(
    instances: Iterable[Instance], environment: str
) -> Iterator[tuple[Instance, dict[str, str]]]:
    """Live ``role=api`` instances of ``environment``, each with its tags as a mapping."""
    for instance in instances:
        tags = {t.key: t.value for t in instance.tags}
        if instance.status in GONE or tags.get(ROLE_TAG[0]) != ROLE_TAG[1]:
            continue
        if tags.get("environment") == environment:
            yield instance, tags


def live_instances_of(
    instances: Iterable[Instance], environment: str, colour: str | None = None, *, owner: str
) -> list[Instance]:
    """Live API instances of ``environment`` (of ``colour`` when given), by their tags.

    Only ``owner``'s (its ``orchestra-owner`` tag): an instance another state launched,
    or one launched before owner tags existed (whose, nobody can tell), is never counted,
    retired or judged here.
    """
    return [
        instance
        for instance, tags in _api_instances_of(instances, environment)
        if tags.get(OWNER_TAG) == owner and (colour is None or tags.get("colour") == colour)
    ]


def untagged_instances_of(instances: Iterable[Instance], environment: str) -> list[Instance]:
    """Live API instances of ``environment`` without an owner tag (launched before owner
    tags existed): no state can tell whether they are its own."""
    return [i for i, tags in _api_instances_of(instances, environment) if OWNER_TAG not in tags]


@dataclass(frozen=True)
class Lease:
    """A dev environment's time-to-live: when its instances are due for cleanup."""

    environment: str
    expires_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        """True once ``now`` is at or past the expiry."""
        return now >= self.expires_at


def lease_for(environment: str, ttl_hours: float, now: dt.datetime) -> Lease:
    """A lease of ``ttl_hours`` from ``now``."""
    if ttl_hours <= 0:
        raise ValueError("ttl_hours must be positive")
    return Lease(environment, now + dt.timedelta(hours=ttl_hours))


def terminated_step(colour: str, count: int) -> str:
    """A rollback's step: what terminating the abandoned colour through the API found."""
    if count == 0:
        return f"no {colour} instance was left running"
    return f"{count} {colour} instance(s) still running were terminated through the API"
