"""The ``orchestra-backend`` program: N API instances wired to the shared stack's resources."""

from __future__ import annotations

from typing import Any

import pulumi

from orchestra_ops.adapters.pulumi.backend import state_owner
from orchestra_ops.adapters.pulumi.provider.lambda_instance import (
    LambdaInstance,
    LambdaInstanceArgs,
)
from orchestra_ops.domain.stack_config import (
    BACKEND_PROJECT,
    CONFIG_KEYS_BACKEND,
    BackendConfig,
    backend_config,
    shared_stack_reference,
)
from orchestra_ops.settings import load_settings


def _instance(
    cfg: BackendConfig, shared: pulumi.StackReference, colour: str, index: int, owner: str
) -> LambdaInstance:
    stack = pulumi.get_stack()
    name = f"{cfg.name_prefix}-{stack}-{colour}-{index}"
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
        tags={"environment": stack, "project": "orchestra-ai", "role": "api", "colour": colour},
        hostname=name,
        active_timeout_s=cfg.active_timeout_s,
        poll_s=cfg.poll_s,
        owner=owner,
    )
    return LambdaInstance(f"api-{colour}-{index}", args)


def _described(instance: LambdaInstance) -> pulumi.Output[dict[str, Any]]:
    return pulumi.Output.all(
        id=instance.instance_id,
        ip=instance.ip,
        hostname=instance.live_hostname,
        region=instance.region,
        instance_type=instance.chosen_instance_type,
    )


def program() -> dict[str, Any]:
    """Declare the API instances of each colour; export them and the active colour's URL.

    Blue-green: a stack holds one colour, or both while a new one is brought up and
    health-gated; ``active_colour`` says which one serves (``api_url`` and friends).
    """
    source = pulumi.Config(BACKEND_PROJECT)
    cfg = backend_config({k: source.get(k) for k in CONFIG_KEYS_BACKEND}, pulumi.get_stack())
    shared = pulumi.StackReference(shared_stack_reference(cfg))
    settings = load_settings()
    owner = state_owner(settings.pulumi, settings.runtime.state_dir)
    by_colour = {
        colour: [_instance(cfg, shared, colour, i, owner) for i in range(cfg.count)]
        for colour in cfg.colours
    }
    active = by_colour[cfg.active_colour]
    ips = pulumi.Output.all(*[i.ip for i in active])
    outputs: dict[str, Any] = {
        "shared_stack": shared_stack_reference(cfg),
        "active_colour": cfg.active_colour,
        "colours": {
            colour: pulumi.Output.all(*[_described(i) for i in instances])
            for colour, instances in by_colour.items()
        },
        "instance_ids": pulumi.Output.all(*[i.instance_id for i in active]),
        "ips": ips,
        "hostnames": pulumi.Output.all(*[i.live_hostname for i in active]),
        "regions": pulumi.Output.all(*[i.region for i in active]),
        "instance_types": pulumi.Output.all(*[i.chosen_instance_type for i in active]),
        "api_port": cfg.api_port,
        "api_url": ips.apply(lambda found: f"http://{found[0]}:{cfg.api_port}"),
    }
    for name, value in outputs.items():
        pulumi.export(name, value)
    return outputs
