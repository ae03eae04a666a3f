"""SSH keys, filesystems and firewall rulesets as Pulumi dynamic resources.

Each create is idempotent by name: an object of that name (and region) is adopted, not
duplicated. The API has no GET by id for keys and filesystems, so read lists and looks.
Only rulesets change in place (PATCH name/rules); every other change replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from orchestra_ops.domain.lambda_cloud import (
    FilesystemId,
    FirewallProtocol,
    FirewallRule,
    FirewallRuleset,
    FirewallRulesetId,
    SshKeyId,
)
from orchestra_ops.errors import LambdaConflict, LambdaNotFound
from orchestra_ops.provider._common import Timing, open_client

PROVIDER_KEY = "__provider"


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


class _NamedProvider(ResourceProvider):
    """Shared plumbing: timing, repr, and "replace when these inputs change"."""

    replacing: tuple[str, ...] = ("name",)

    def __init__(self, timing: Timing | None = None) -> None:
        super().__init__()
        self._timing = timing or Timing()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when a replacing input changed; else no change."""
        replaces = [k for k in self.replacing if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=True)


class LambdaSshKeyProvider(_NamedProvider):
    """An SSH key by name; a generated key's private half is an output (mark it secret)."""

    replacing = ("name", "public_key")

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt the key of this name (same public key), or add or generate one."""
        name, public_key = str(props["name"]), props.get("public_key") or None
        with open_client(self._timing) as api:
            existing = next((k for k in api.list_ssh_keys() if k.name == name), None)
            if existing is not None:
                if public_key and existing.public_key.strip() != str(public_key).strip():
                    raise LambdaConflict(
                        f"an SSH key named {name!r} exists with another public key; rename "
                        "one of them or delete the old key"
                    )
                key, private = existing, None
            elif public_key:
                key, private = api.add_ssh_key(name, str(public_key)), None
            else:
                key = api.generate_ssh_key(name)
                private = key.private_key.get_secret_value() if key.private_key else None
        outs = {**_inputs(props), "key_id": key.id, "public_key": key.public_key}
        return CreateResult(key.id, {**outs, "private_key": private})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Still listed: its current fields; else gone."""
        with open_client(self._timing) as api:
            key = next((k for k in api.list_ssh_keys() if k.id == id_), None)
        if key is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**_inputs(props), "name": key.name, "public_key": key.public_key})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Delete; already gone is fine."""
        with open_client(self._timing) as api:
            try:
                api.delete_ssh_key(SshKeyId(id_))
            except LambdaNotFound:
                pass


class LambdaFilesystemProvider(_NamedProvider):
    """A persistent filesystem by name and region."""

    replacing = ("name", "region")

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt the filesystem of this name in this region, or create it."""
        name, region = str(props["name"]), str(props["region"])
        with open_client(self._timing) as api:
            fs = next((f for f in api.list_filesystems() if f.name == name), None)
            if fs is not None and fs.region.name != region:
                raise LambdaConflict(
                    f"a filesystem named {name!r} exists in {fs.region.name}, not {region}; "
                    "pick another name or region"
                )
            if fs is None:
                fs = api.create_filesystem(name, region)
        outs = {**_inputs(props), "filesystem_id": fs.id, "mount_point": fs.mount_point}
        return CreateResult(fs.id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Still listed: its current fields; else gone."""
        with open_client(self._timing) as api:
            fs = next((f for f in api.list_filesystems() if f.id == id_), None)
        if fs is None:
            return ReadResult(None, {})
        outs = {**_inputs(props), "name": fs.name, "region": fs.region.name}
        return ReadResult(id_, {**outs, "mount_point": fs.mount_point, "is_in_use": fs.is_in_use})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Delete; LambdaConflict while mounted; already gone is fine."""
        with open_client(self._timing) as api:
            try:
                api.delete_filesystem(FilesystemId(id_))
            except LambdaNotFound:
                pass


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


def _ruleset_outputs(props: dict[str, Any], ruleset: FirewallRuleset) -> dict[str, Any]:
    region = ruleset.region.name if ruleset.region else props.get("region")
    return {**_inputs(props), "ruleset_id": ruleset.id, "name": ruleset.name, "region": region}


class LambdaFirewallRulesetProvider(_NamedProvider):
    """A firewall ruleset by name and region; name and rules change in place."""

    replacing = ("region",)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Adopt the ruleset of this name in this region (setting its rules), or create it."""
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
            else:
                ruleset = api.update_firewall_ruleset(found.id, rules=rules)
        return CreateResult(ruleset.id, _ruleset_outputs(props, ruleset))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Its current name and rules; missing means gone."""
        with open_client(self._timing) as api:
            try:
                ruleset = api.get_firewall_ruleset(FirewallRulesetId(id_))
            except LambdaNotFound:
                return ReadResult(None, {})
        outs = _ruleset_outputs(props, ruleset)
        return ReadResult(id_, {**outs, "rules": rules_plain(ruleset.rules)})

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on region; update on name or rules."""
        base = super().diff(id_, olds, news)
        changed = olds.get("name") != news.get("name") or rules_from(olds) != rules_from(news)
        return DiffResult(
            changes=bool(base.changes) or changed,
            replaces=base.replaces,
            delete_before_replace=True,
        )

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """PATCH the name and rules."""
        with open_client(self._timing) as api:
            ruleset = api.update_firewall_ruleset(
                FirewallRulesetId(id_), name=str(news["name"]), rules=rules_from(news)
            )
        return UpdateResult(_ruleset_outputs(news, ruleset))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """Delete; LambdaConflict while an instance uses it; already gone is fine."""
        with open_client(self._timing) as api:
            try:
                api.delete_firewall_ruleset(FirewallRulesetId(id_))
            except LambdaNotFound:
                pass


class LambdaSshKey(pulumi.dynamic.Resource, module="lambda", name="SshKey"):
    """A Lambda SSH key; without ``public_key`` Lambda generates one (private_key is secret)."""

    key_id: pulumi.Output[str]
    public_key: pulumi.Output[str]
    private_key: pulumi.Output[str]

    def __init__(
        self, resource_name: str, name: Any, public_key: Any = None, opts: Any = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["private_key"])
        props = {"name": name, "public_key": public_key, "key_id": None, "private_key": None}
        merged = pulumi.ResourceOptions.merge(secret, opts)
        super().__init__(LambdaSshKeyProvider(), resource_name, props, merged)


class LambdaFilesystem(pulumi.dynamic.Resource, module="lambda", name="Filesystem"):
    """A Lambda persistent filesystem in one region."""

    filesystem_id: pulumi.Output[str]
    mount_point: pulumi.Output[str]

    def __init__(self, resource_name: str, name: Any, region: Any, opts: Any = None) -> None:
        props = {"name": name, "region": region, "filesystem_id": None, "mount_point": None}
        super().__init__(LambdaFilesystemProvider(), resource_name, props, opts)


class LambdaFirewallRuleset(pulumi.dynamic.Resource, module="lambda", name="FirewallRuleset"):
    """A Lambda firewall ruleset; ``rules`` are dicts (protocol, port_range, source_network)."""

    ruleset_id: pulumi.Output[str]

    def __init__(
        self, resource_name: str, name: Any, region: Any, rules: Any, opts: Any = None
    ) -> None:
        props = {"name": name, "region": region, "rules": rules, "ruleset_id": None}
        super().__init__(LambdaFirewallRulesetProvider(), resource_name, props, opts)
