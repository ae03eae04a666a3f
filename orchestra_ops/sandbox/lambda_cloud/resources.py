"""SSH keys, filesystems and firewall rulesets of the emulated account.

Not locked here: :class:`~orchestra_ops.sandbox.lambda_cloud.state.LambdaState` holds the
one lock and tells these stores which names and ids live instances use.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
from collections.abc import Collection
from typing import Any

from orchestra_ops.sandbox.lambda_cloud import validation
from orchestra_ops.sandbox.lambda_cloud.catalog import region_json
from orchestra_ops.sandbox.lambda_cloud.envelope import (
    DUPLICATE,
    FILESYSTEM_IN_USE,
    NOT_FOUND,
    RULESET_IN_USE,
    ApiError,
    invalid,
    not_found,
)

_ACCOUNT = {
    "id": "5c1b4d3a0e6f4f0f9a3c2b1d0e9f8a7b",
    "email": "ops@example.com",
    "status": "active",
}
_KEY_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-")


def _fake_key_pair(name: str) -> tuple[str, str]:
    """A key pair shaped like OpenSSH's; random bytes, not a usable key."""
    public = "ssh-ed25519 " + base64.b64encode(secrets.token_bytes(51)).decode() + f" {name}"
    body = base64.encodebytes(secrets.token_bytes(300)).decode()
    private = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}-----END OPENSSH PRIVATE KEY-----\n"
    return public, private


class Resources:
    """The account's keys, filesystems and firewall rules."""

    def __init__(self) -> None:
        self.ssh_keys: dict[str, dict[str, Any]] = {}
        self.filesystems: dict[str, dict[str, Any]] = {}
        self.rulesets: dict[str, dict[str, Any]] = {}
        self.global_rules: list[dict[str, Any]] = []

    # --- ssh keys ---------------------------------------------------------------------

    def add_ssh_key(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a key; without ``public_key`` generate a pair and return the private half."""
        name = validation.text(body, "name", max_len=64)
        if any(k["name"] == name for k in self.ssh_keys.values()):
            raise ApiError(400, DUPLICATE, f"An SSH key named {name!r} already exists.")
        public_key = body.get("public_key")
        private_key = None
        if public_key is None:
            public_key, private_key = _fake_key_pair(name)
        elif not isinstance(public_key, str) or not public_key.startswith(_KEY_PREFIXES):
            raise invalid("public_key must be an OpenSSH public key")
        key = {"id": uuid.uuid4().hex, "name": name, "public_key": public_key.strip()}
        self.ssh_keys[key["id"]] = key
        return key if private_key is None else {**key, "private_key": private_key}

    def delete_ssh_key(self, key_id: str) -> None:
        """Delete a key (the spec lists 400, not 404, for an unknown id)."""
        if self.ssh_keys.pop(key_id, None) is None:
            raise ApiError(400, NOT_FOUND, "Specified SSH key does not exist.")

    def ssh_key_named(self, name: str) -> bool:
        """True when a key has this name."""
        return any(k["name"] == name for k in self.ssh_keys.values())

    # --- filesystems -----------------------------------------------------------------

    def filesystem_list(self, used_names: Collection[str]) -> list[dict[str, Any]]:
        """Every filesystem with ``is_in_use`` from the names live instances mount."""
        return [{**fs, "is_in_use": fs["name"] in used_names} for fs in self.filesystems.values()]

    def create_filesystem(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a filesystem; names are unique in the account."""
        name = validation.filesystem_name(body)
        region = validation.region(body)
        if self.filesystem_by_name(name) is not None:
            raise ApiError(400, DUPLICATE, f"A filesystem named {name!r} already exists.")
        fs_id = uuid.uuid4().hex
        fs: dict[str, Any] = {
            "id": fs_id,
            "name": name,
            "mount_point": f"/lambda/nfs/{name}",
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "created_by": dict(_ACCOUNT),
            "is_in_use": False,
            "region": region_json(region),
            "bytes_used": 0,
        }
        self.filesystems[fs_id] = fs
        return fs

    def delete_filesystem(self, fs_id: str, used_names: Collection[str]) -> None:
        """Delete a filesystem no live instance mounts."""
        fs = self.filesystems.get(fs_id)
        if fs is None:
            raise not_found("Filesystem was not found.")
        if fs["name"] in used_names:
            raise ApiError(400, FILESYSTEM_IN_USE, "The filesystem is mounted by an instance.")
        del self.filesystems[fs_id]

    def filesystem_by_name(self, name: str) -> dict[str, Any] | None:
        """The filesystem called ``name``, if any."""
        return next((f for f in self.filesystems.values() if f["name"] == name), None)

    # --- firewall ----------------------------------------------------------------------

    def ruleset(self, ruleset_id: str) -> dict[str, Any]:
        """One ruleset, or 404 (with the spec's required suggestion)."""
        found = self.rulesets.get(ruleset_id)
        if found is None:
            raise not_found(
                "Firewall ruleset does not exist or you do not have permission to access it.",
                suggestion="Check your firewall ruleset ID and try again.",
            )
        return found

    def create_ruleset(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a ruleset; names are unique in a region."""
        name = validation.text(body, "name", max_len=64)
        region = validation.region(body)
        rules = validation.rules(body.get("rules", []))
        if any(r["name"] == name and r["region"]["name"] == region for r in self.rulesets.values()):
            raise ApiError(400, DUPLICATE, f"A firewall ruleset named {name!r} already exists.")
        ruleset_id = uuid.uuid4().hex
        ruleset: dict[str, Any] = {
            "id": ruleset_id,
            "name": name,
            "region": region_json(region),
            "rules": rules,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.rulesets[ruleset_id] = ruleset
        return ruleset

    def patch_ruleset(self, ruleset_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change a ruleset's name and/or rules."""
        ruleset = self.ruleset(ruleset_id)
        if set(body) - {"name", "rules"}:
            raise invalid("only name and rules can be changed")
        if "name" in body:
            ruleset["name"] = validation.text(body, "name", max_len=64)
        if "rules" in body:
            ruleset["rules"] = validation.rules(body["rules"])
        return ruleset

    def delete_ruleset(self, ruleset_id: str, used_ids: Collection[str]) -> None:
        """Delete a ruleset no live instance uses."""
        self.ruleset(ruleset_id)
        if ruleset_id in used_ids:
            raise ApiError(
                400, RULESET_IN_USE, "Firewall ruleset is in use by one or more instances."
            )
        del self.rulesets[ruleset_id]

    def global_ruleset(self) -> dict[str, Any]:
        """The global ruleset object."""
        return {"id": "global", "name": "Global Firewall Rules", "rules": self.global_rules}
