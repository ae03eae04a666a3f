"""The Lambda Cloud adapter: an httpx client of the public API (spec 1.8.3).

``base_url`` is the host root (``https://cloud.lambda.ai``); paths go under ``/api/v1``.
The key travels as ``Authorization: Bearer``. Errors are the LambdaCloudError subtree
(see ``_lambda_http``); JSON shapes are in ``_lambda_codec``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from orchestra_ops.adapters import _lambda_codec as codec
from orchestra_ops.adapters._http import ClosesOnExit, tls_context
from orchestra_ops.adapters._lambda_http import Call, LambdaHttp
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

if TYPE_CHECKING:
    from orchestra_ops.ports.lambda_cloud import LambdaCloudApi


def _p(value: str) -> str:
    """An id made safe as one path segment."""
    return quote(value, safe="")


class LambdaCloudClient(ClosesOnExit):
    """Lambda Cloud over HTTP; implements :class:`~orchestra_ops.ports.lambda_cloud.LambdaCloudApi`.

    Close it with ``close()`` or use it as a context manager.
    """

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        max_retry_after_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        secret = api_key.get_secret_value()
        self._client = httpx.Client(
            base_url=f"{self.base_url}/api/v1",
            headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
            transport=transport,
            timeout=timeout_s,
            verify=tls_context(),
        )
        self._http = LambdaHttp(
            self._client, secret=secret, max_retry_after_s=max_retry_after_s, sleep=sleep
        )

    def __repr__(self) -> str:
        return f"LambdaCloudClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _get(self, path: str) -> Any:
        return self._http.send(Call("GET", path))

    def _send(self, method: str, path: str, body: Any) -> Any:
        return self._http.send(Call(method, path, json=body))

    # --- instances -------------------------------------------------------------------------

    def list_instances(self) -> list[Instance]:
        """Every instance that is not terminated."""
        return codec.parse("instance list", codec.many(codec.instance), self._get("/instances"))

    def get_instance(self, instance_id: InstanceId) -> Instance:
        """One instance; LambdaNotFound when it does not exist (any more)."""
        return codec.parse("instance", codec.instance, self._get(f"/instances/{_p(instance_id)}"))

    def rename_instance(self, instance_id: InstanceId, name: str) -> Instance:
        """Rename an instance (POST, as the API has it)."""
        data = self._send("POST", f"/instances/{_p(instance_id)}", {"name": name})
        return codec.parse("instance", codec.instance, data)

    def instance_types(self) -> dict[str, InstanceTypeOffer]:
        """Every instance type with the regions that list capacity."""
        return codec.parse("instance-type table", codec.offers, self._get("/instance-types"))

    def launch(self, request: LaunchRequest) -> list[InstanceId]:
        """Launch; InsufficientCapacity carries the requested region and type."""
        call = Call(
            "POST",
            "/instance-operations/launch",
            json=codec.launch_json(request),
            region=request.region_name,
            instance_type=request.instance_type_name,
        )
        data = self._http.send(call)
        return codec.parse(
            "launch answer", lambda d: [InstanceId(str(i)) for i in d["instance_ids"]], data
        )

    def restart(self, instance_ids: Sequence[InstanceId]) -> list[Instance]:
        """Restart instances."""
        data = self._send("POST", "/instance-operations/restart", {"instance_ids": [*instance_ids]})
        return codec.parse(
            "restart answer", lambda d: codec.many(codec.instance)(d["restarted_instances"]), data
        )

    def terminate(self, instance_ids: Sequence[InstanceId]) -> list[Instance]:
        """Terminate instances."""
        body = {"instance_ids": [*instance_ids]}
        data = self._send("POST", "/instance-operations/terminate", body)
        return codec.parse(
            "terminate answer",
            lambda d: codec.many(codec.instance)(d["terminated_instances"]),
            data,
        )

    # --- ssh keys, filesystems, images -----------------------------------------------------

    def list_ssh_keys(self) -> list[SshKey]:
        """Every SSH key."""
        return codec.parse("SSH key list", codec.many(codec.ssh_key), self._get("/ssh-keys"))

    def add_ssh_key(self, name: str, public_key: str) -> SshKey:
        """Register an existing public key."""
        data = self._send("POST", "/ssh-keys", {"name": name, "public_key": public_key})
        return codec.parse("SSH key", codec.ssh_key, data)

    def generate_ssh_key(self, name: str) -> SshKey:
        """Have Lambda generate a pair; ``private_key`` is returned only this once."""
        return codec.parse(
            "SSH key", codec.ssh_key, self._send("POST", "/ssh-keys", {"name": name})
        )

    def delete_ssh_key(self, key_id: SshKeyId) -> None:
        """Delete an SSH key."""
        self._send("DELETE", f"/ssh-keys/{_p(key_id)}", None)

    def list_filesystems(self) -> list[Filesystem]:
        """Every filesystem (listed at ``/file-systems``)."""
        data = self._get("/file-systems")
        return codec.parse("filesystem list", codec.many(codec.filesystem), data)

    def create_filesystem(self, name: str, region_name: str) -> Filesystem:
        """Create a filesystem (at ``/filesystems``)."""
        data = self._send("POST", "/filesystems", {"name": name, "region": region_name})
        return codec.parse("filesystem", codec.filesystem, data)

    def delete_filesystem(self, filesystem_id: FilesystemId) -> None:
        """Delete a filesystem; LambdaConflict while it is mounted."""
        self._send("DELETE", f"/filesystems/{_p(filesystem_id)}", None)

    def list_images(self) -> list[Image]:
        """Every image."""
        return codec.parse("image list", codec.many(codec.image), self._get("/images"))

    # --- firewall -------------------------------------------------------------------------

    def list_firewall_rulesets(self) -> list[FirewallRuleset]:
        """Every firewall ruleset."""
        data = self._get("/firewall-rulesets")
        return codec.parse("ruleset list", codec.many(codec.ruleset), data)

    def get_firewall_ruleset(self, ruleset_id: FirewallRulesetId) -> FirewallRuleset:
        """One firewall ruleset."""
        data = self._get(f"/firewall-rulesets/{_p(ruleset_id)}")
        return codec.parse("ruleset", codec.ruleset, data)

    def create_firewall_ruleset(
        self, name: str, region_name: str, rules: Sequence[FirewallRule]
    ) -> FirewallRuleset:
        """Create a ruleset in a region."""
        body = {"name": name, "region": region_name, "rules": codec.rules_json(rules)}
        return codec.parse("ruleset", codec.ruleset, self._send("POST", "/firewall-rulesets", body))

    def update_firewall_ruleset(
        self,
        ruleset_id: FirewallRulesetId,
        *,
        name: str | None = None,
        rules: Sequence[FirewallRule] | None = None,
    ) -> FirewallRuleset:
        """Rename a ruleset and/or replace its rules."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if rules is not None:
            body["rules"] = codec.rules_json(rules)
        data = self._send("PATCH", f"/firewall-rulesets/{_p(ruleset_id)}", body)
        return codec.parse("ruleset", codec.ruleset, data)

    def delete_firewall_ruleset(self, ruleset_id: FirewallRulesetId) -> None:
        """Delete a ruleset; LambdaConflict while an instance uses it."""
        self._send("DELETE", f"/firewall-rulesets/{_p(ruleset_id)}", None)

    def get_global_firewall_ruleset(self) -> FirewallRuleset:
        """The global ruleset."""
        return codec.parse("ruleset", codec.ruleset, self._get("/firewall-rulesets/global"))

    def patch_global_firewall_ruleset(self, rules: Sequence[FirewallRule]) -> FirewallRuleset:
        """Replace the global ruleset's rules."""
        body = {"rules": codec.rules_json(rules)}
        data = self._send("PATCH", "/firewall-rulesets/global", body)
        return codec.parse("ruleset", codec.ruleset, data)


if TYPE_CHECKING:

    def _implements_the_port(client: LambdaCloudClient) -> LambdaCloudApi:
        return client
