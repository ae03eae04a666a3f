"""The ``orchestra-shared`` program: the SSH key, persistent filesystem and firewall ruleset."""

from __future__ import annotations

from typing import Any

import pulumi

from orchestra_ops.adapters.pulumi.provider.lambda_firewall import LambdaFirewallRuleset
from orchestra_ops.adapters.pulumi.provider.lambda_resources import LambdaFilesystem, LambdaSshKey
from orchestra_ops.domain.stack_config import CONFIG_KEYS_SHARED, SHARED_PROJECT, shared_config


def _rules(port: int, cidr: str) -> list[dict[str, Any]]:
    def tcp(number: int, what: str) -> dict[str, Any]:
        return {
            "protocol": "tcp",
            "port_range": [number, number],
            "source_network": cidr,
            "description": what,
        }

    return [tcp(22, "ssh"), tcp(443, "https"), tcp(port, "orchestra api")]


def program() -> dict[str, Any]:
    """Declare the shared resources and export their names and ids (also returned)."""
    stack = pulumi.get_stack()
    source = pulumi.Config(SHARED_PROJECT)
    cfg = shared_config({k: source.get(k) for k in CONFIG_KEYS_SHARED}, stack)
    key = LambdaSshKey("ssh-key", name=cfg.ssh_key_name, public_key=cfg.ssh_public_key)
    filesystem = LambdaFilesystem(
        "filesystem",
        name=cfg.filesystem_name,
        region=cfg.region,
        # The data outlives a mistaken `pulumi destroy`.
        opts=pulumi.ResourceOptions(protect=stack == "prod"),
    )
    ruleset = LambdaFirewallRuleset(
        "firewall",
        name=cfg.firewall_name,
        region=cfg.region,
        rules=_rules(cfg.api_port, cfg.allowed_cidr),
    )
    outputs: dict[str, Any] = {
        "region": cfg.region,
        "ssh_key_name": cfg.ssh_key_name,
        "ssh_key_id": key.key_id,
        # Secret here, not only through the resource option: mocks and the engine double
        # do not apply additional_secret_outputs, and nothing may show the key as plain.
        "ssh_private_key": pulumi.Output.secret(key.private_key),
        "filesystem_name": cfg.filesystem_name,
        "filesystem_id": filesystem.filesystem_id,
        "firewall_ruleset_name": cfg.firewall_name,
        "firewall_ruleset_id": ruleset.ruleset_id,
        "api_port": cfg.api_port,
    }
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
