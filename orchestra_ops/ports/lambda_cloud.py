"""The Lambda Cloud port: what flows need from Lambda Cloud, in domain types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from orchestra_ops.domain.lambda_cloud import (
    Filesystem,
    FilesystemId,
    FirewallRule,
    FirewallRuleset,
    FirewallRulesetId,
    Image,
    Instance,
    InstanceId,
    InstanceTypeOffer,
    LaunchRequest,
    SshKey,
    SshKeyId,
)


class LambdaCloudApi(Protocol):
    """Lambda Cloud's public API (spec 1.8.3); errors are the LambdaCloudError subtree."""

    def list_instances(self) -> list[Instance]:
        """Every instance of the account that is not terminated."""
        ...

    def get_instance(self, instance_id: InstanceId) -> Instance:
        """One instance; LambdaNotFound when it does not exist (any more)."""
        ...

    def rename_instance(self, instance_id: InstanceId, name: str) -> Instance:
        """Give an instance a new name."""
        ...

    def instance_types(self) -> dict[str, InstanceTypeOffer]:
        """Every instance type by name, with the regions that list capacity."""
        ...

    def launch(self, request: LaunchRequest) -> list[InstanceId]:
        """Launch instances; InsufficientCapacity names the region and type refused."""
        ...

    def restart(self, instance_ids: Sequence[InstanceId]) -> list[Instance]:
        """Restart instances; returns them as restarted."""
        ...

    def terminate(self, instance_ids: Sequence[InstanceId]) -> list[Instance]:
        """Terminate instances; returns them as terminating."""
        ...

    def list_ssh_keys(self) -> list[SshKey]:
        """Every SSH key of the account."""
        ...

    def add_ssh_key(self, name: str, public_key: str) -> SshKey:
        """Register an existing public key."""
        ...

    def generate_ssh_key(self, name: str) -> SshKey:
        """Have Lambda generate a key pair; the private key is returned only this once."""
        ...

    def delete_ssh_key(self, key_id: SshKeyId) -> None:
        """Delete an SSH key."""
        ...

    def list_filesystems(self) -> list[Filesystem]:
        """Every filesystem of the account."""
        ...

    def create_filesystem(self, name: str, region_name: str) -> Filesystem:
        """Create a filesystem; LambdaConflict when the name is taken."""
        ...

    def delete_filesystem(self, filesystem_id: FilesystemId) -> None:
        """Delete a filesystem; LambdaConflict while an instance mounts it."""
        ...

    def list_images(self) -> list[Image]:
        """Every image instances can boot from."""
        ...

    def list_firewall_rulesets(self) -> list[FirewallRuleset]:
        """Every firewall ruleset (not the global one)."""
        ...

    def get_firewall_ruleset(self, ruleset_id: FirewallRulesetId) -> FirewallRuleset:
        """One firewall ruleset."""
        ...

    def create_firewall_ruleset(
        self, name: str, region_name: str, rules: Sequence[FirewallRule]
    ) -> FirewallRuleset:
        """Create a firewall ruleset in a region."""
        ...

    def update_firewall_ruleset(
        self,
        ruleset_id: FirewallRulesetId,
        *,
        name: str | None = None,
        rules: Sequence[FirewallRule] | None = None,
    ) -> FirewallRuleset:
        """Rename a ruleset and/or replace its rules."""
        ...

    def delete_firewall_ruleset(self, ruleset_id: FirewallRulesetId) -> None:
        """Delete a ruleset; LambdaConflict while an instance uses it."""
        ...

    def get_global_firewall_ruleset(self) -> FirewallRuleset:
        """The global ruleset, which applies to every instance."""
        ...

    def patch_global_firewall_ruleset(self, rules: Sequence[FirewallRule]) -> FirewallRuleset:
        """Replace the global ruleset's rules."""
        ...
