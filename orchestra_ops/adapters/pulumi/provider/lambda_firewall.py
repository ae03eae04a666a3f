"""Firewall rulesets as a Pulumi dynamic resource: adopted by name and region, PATCHed in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult

from orchestra_ops.adapters.pulumi.provider._common import (
    inputs_of,
    made_here,
    open_client,
    pickler_restored,
)
from orchestra_ops.adapters.pulumi.provider.lambda_resources import NamedProvider
from orchestra_ops.domain.lambda_cloud import (
    FirewallProtocol,
    FirewallRule,
    FirewallRuleset,
    FirewallRulesetId,
)
from orchestra_ops.errors import LambdaConflict, LambdaNotFound


def rules_from(props: dict[str, Any]) -> tuple[FirewallRule, ...]:
    """Firewall rules from plain dicts ``{protocol, port_range?, source_network, description}``."""
    rules = []
    for raw in props.get("rules") or ():
        ports = raw.get("port_range")
        rules.append(
            FirewallRule(
                protocol=FirewallProtocol(raw["protocol"]),
                source_network=str(raw["source_network"]),
                port_range=(int(ports[0]), int(ports[1])) if ports else None,
                description=str(raw.get("description", "")),
            )
        )
    return tuple(rules)


def rules_plain(rules: Sequence[FirewallRule]) -> list[dict[str, Any]]:
    """Rules as plain dicts (the resource's input shape)."""
    return [
        {
            "protocol": r.protocol.value,
            "source_network": r.source_network,
            "port_range": list(r.port_range) if r.port_range else None,
            "description": r.description,
        }
        for r in rules
    ]


def _ruleset_outputs(
    props: dict[str, Any], ruleset: FirewallRuleset, *, created: bool
) -> dict[str, Any]:
    region = ruleset.region.name if ruleset.region else props.get("region")
    outs = {**inputs_of(props), "ruleset_id": ruleset.id, "name": ruleset.name}
    return {**outs, "region": region, "created": created}


def adopted_ruleset_outputs(
    props: dict[str, Any], ruleset: FirewallRuleset, *, created: bool
) -> dict[str, Any]:
    """What a ruleset found in Lambda reports: its rules as they are there (as ``read``)."""
    return {
        **_ruleset_outputs(props, ruleset, created=created),
        "rules": rules_plain(ruleset.rules),
    }


def _not_ours(name: str, region: str) -> str:
    return (
        f"the firewall ruleset named {name!r} in {region} was not made by this stack (it is "
        "another state's, or a person's), so its rules are not changed to this stack's: give "
        "this stack's ruleset another name, or ask for the rules it has"
    )


class LambdaFirewallRulesetProvider(NamedProvider):
    """A firewall ruleset by name and region; name and rules change in place."""

    replacing = ("region",)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt the ruleset of this name in this region when its rules are these, or
        create it; one with other rules is another's, and is not changed (LambdaConflict)."""
        name, region, rules = str(props["name"]), str(props["region"]), rules_from(props)
        with open_client(self._timing) as api:
            found = next(
                (
                    r
                    for r in api.list_firewall_rulesets()
                    if r.name == name and r.region is not None and r.region.name == region
                ),
                None,
            )
            if found is None:
                ruleset = api.create_firewall_ruleset(name, region, rules)
            elif set(found.rules) != set(rules):
                raise LambdaConflict(_not_ours(name, region))
            else:
                ruleset = found
        return CreateResult(ruleset.id, _ruleset_outputs(props, ruleset, created=found is None))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Its current name and rules; missing means gone."""
        with open_client(self._timing) as api:
            try:
                ruleset = api.get_firewall_ruleset(FirewallRulesetId(id_))
            except LambdaNotFound:
                return ReadResult(None, {})
        return ReadResult(id_, adopted_ruleset_outputs(props, ruleset, created=made_here(props)))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on region; update on name or rules."""
        base = super().diff(id_, olds, news)
        changed = olds.get("name") != news.get("name") or rules_from(olds) != rules_from(news)
        return DiffResult(
            changes=bool(base.changes) or changed,
            replaces=base.replaces,
            delete_before_replace=True,
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PATCH the name and rules of a ruleset this stack made (an adopted one: refused)."""
        if not made_here(olds):
            raise LambdaConflict(_not_ours(str(olds.get("name")), str(olds.get("region"))))
        with open_client(self._timing) as api:
            ruleset = api.update_firewall_ruleset(
                FirewallRulesetId(id_), name=str(news["name"]), rules=rules_from(news)
            )
        return UpdateResult(_ruleset_outputs(news, ruleset, created=made_here(olds)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete what this stack made (adopted: left); LambdaConflict while an instance
        uses it; already gone is fine."""
        if not made_here(props):
            return
        with open_client(self._timing) as api:
            try:
                api.delete_firewall_ruleset(FirewallRulesetId(id_))
            except LambdaNotFound:
                pass


class LambdaFirewallRuleset(pulumi.dynamic.Resource, module="lambda", name="FirewallRuleset"):
    """A Lambda firewall ruleset; ``rules`` are dicts (protocol, port_range, source_network)."""

    ruleset_id: pulumi.Output[str]

    def __init__(
        self, resource_name: str, name: Any, region: Any, rules: Any, opts: Any = None
    ) -> None:
        props = {"name": name, "region": region, "rules": rules, "ruleset_id": None}
        with pickler_restored():
            super().__init__(LambdaFirewallRulesetProvider(), resource_name, props, opts)
