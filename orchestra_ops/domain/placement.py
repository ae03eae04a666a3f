"""Where to try launching: (instance type, region) attempts in order, and what it costs.

Pure functions over :class:`~orchestra_ops.domain.lambda_cloud.InstanceTypeOffer`s. Listed
capacity is a hint, not a reservation: the caller still treats a refused launch as "try
the next attempt".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from orchestra_ops.domain.lambda_cloud import InstanceTypeOffer
from orchestra_ops.errors import ConfigError

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Attempt:
    """One launch to try: an instance type in a region, with its hourly price."""

    instance_type: str
    region: str
    price_cents_per_hour: int


@dataclass(frozen=True)
class PlacementPlan:
    """The attempts in order, and why the other preferred options were left out."""

    attempts: tuple[Attempt, ...]
    skipped: tuple[str, ...]


def plan_attempts(
    offers: Mapping[str, InstanceTypeOffer],
    preferred_types: Sequence[str],
    regions: Sequence[str],
) -> PlacementPlan:
    """Types in preference order, each in the preferred regions that list capacity.

    An empty ``regions`` means "any region listing capacity, in the API's order".
    """
    attempts: list[Attempt] = []
    skipped: list[str] = []
    for type_name in dict.fromkeys(preferred_types):
        offer = offers.get(type_name)
        if offer is None:
            skipped.append(f"{type_name}: not an instance type Lambda offers")
            continue
        listed = [r.name for r in offer.regions_with_capacity_available]
        wanted = [r for r in dict.fromkeys(regions) if r in listed] if regions else listed
        if not wanted:
            where = ", ".join(regions) if regions else "any region"
            skipped.append(f"{type_name}: no capacity listed in {where}")
        price = offer.instance_type.price_cents_per_hour
        attempts.extend(Attempt(type_name, region, price) for region in wanted)
    return PlacementPlan(tuple(attempts), tuple(skipped))


def hourly_cost(offer: InstanceTypeOffer, count: int) -> Decimal:
    """What ``count`` instances of ``offer`` cost per hour, in US dollars."""
    if count < 0:
        raise ValueError("count must not be negative")
    return (Decimal(offer.instance_type.price_cents_per_hour * count) / 100).quantize(_CENT)


def check_cost_ceiling(offer: InstanceTypeOffer, count: int, ceiling_usd_per_hour: Decimal) -> None:
    """Raise ConfigError when ``count`` instances of ``offer`` cost more than the ceiling."""
    cost = hourly_cost(offer, count)
    if cost > ceiling_usd_per_hour:
        raise ConfigError(
            f"{count} x {offer.instance_type.name} costs ${cost}/h, above the ceiling of "
            f"${ceiling_usd_per_hour}/h; lower the count, pick a cheaper type or raise the "
            "ceiling",
            source="cost_ceiling_usd_per_hour",
        )
