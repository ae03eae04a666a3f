"""The ``orchestra-backend`` program: N API instances wired to the shared stack's resources."""

from __future__ import annotations

from typing import Any

import pulumi

from orchestra_ops.programs.config import (
    BACKEND_PROJECT,
    CONFIG_KEYS_BACKEND,
    BackendConfig,
    backend_config,
    shared_stack_reference,
)
from orchestra_ops.provider.lambda_instance import LambdaInstance, LambdaInstanceArgs


def _instance(cfg: BackendConfig, shared: pulumi.StackReference, index: int) -> LambdaInstance:
    stack = pulumi.get_stack()
    name = f"{cfg.name_prefix}-{stack}-{index}"
    attached = cfg.attach_shared
    args = LambdaInstanceArgs(
        name=name,
        instance_type=cfg.instance_type,
        fallback_instance_types=list(cfg.fallback_instance_types),
        regions=list(cfg.regions),
        ssh_key_name=shared.require_output("ssh_key_name"),
        image=cfg.image,
        # Attached filesystems and rulesets pin the launch to their region.
        file_system_names=[shared.require_output("filesystem_name")] if attached else [],
        firewall_ruleset_ids=[shared.require_output("firewall_ruleset_id")] if attached else [],
        tags={"environment": stack, "project": "orchestra-ai", "role": "api"},
        hostname=name,
        active_timeout_s=cfg.active_timeout_s,
        poll_s=cfg.poll_s,
    )
    return LambdaInstance(f"api-{index}", args)


def program() -> dict[str, Any]:
    """Declare the API instances and export their ids, ips, hostnames and ``api_url``."""
    source = pulumi.Config(BACKEND_PROJECT)
    cfg = backend_config({k: source.get(k) for k in CONFIG_KEYS_BACKEND}, pulumi.get_stack())
    shared = pulumi.StackReference(shared_stack_reference(cfg))
    instances = [_instance(cfg, shared, i) for i in range(cfg.count)]
    ips = pulumi.Output.all(*[i.ip for i in instances])
    outputs: dict[str, Any] = {
        "shared_stack": shared_stack_reference(cfg),
        "instance_ids": pulumi.Output.all(*[i.instance_id for i in instances]),
        "ips": ips,
        "hostnames": pulumi.Output.all(*[i.live_hostname for i in instances]),
        "regions": pulumi.Output.all(*[i.region for i in instances]),
        "instance_types": pulumi.Output.all(*[i.chosen_instance_type for i in instances]),
        "api_url": ips.apply(lambda found: f"http://{found[0]}:{cfg.api_port}"),
    }
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
