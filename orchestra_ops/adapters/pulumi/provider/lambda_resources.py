"""SSH keys and filesystems as Pulumi dynamic resources (rulesets: ``lambda_firewall``).

Each create is idempotent by name: an object of that name (and region) is adopted, not
duplicated. The API has no GET by id for keys and filesystems, so read lists and looks.
A change of name, public key or region replaces the object.

**Adopted is not owned.** Names are shared by everyone on the account (another state, a
person), so an object a create adopted is recorded as such (``created: false``) and a
delete leaves it in Lambda: only what a stack made is deleted with it.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider

from orchestra_ops.adapters.pulumi.provider._common import (
    Timing,
    inputs_of,
    made_here,
    open_client,
    pickler_restored,
)
from orchestra_ops.domain.lambda_cloud import Filesystem, FilesystemId, SshKey, SshKeyId
from orchestra_ops.errors import LambdaConflict, LambdaNotFound


def ssh_key_outputs(
    props: dict[str, Any], key: SshKey, private: str | None, *, created: bool
) -> dict[str, Any]:
    """What a created (or adopted) key reports: without ``public_key`` input it was generated."""
    outs = {**inputs_of(props), "key_id": key.id, "public_key": key.public_key}
    outs |= {"private_key": private, "generated": not props.get("public_key")}
    return {**outs, "created": created}


def filesystem_outputs(props: dict[str, Any], fs: Filesystem, *, created: bool) -> dict[str, Any]:
    """What a created (or adopted) filesystem reports."""
    outs = {**inputs_of(props), "filesystem_id": fs.id, "mount_point": fs.mount_point}
    return {**outs, "created": created}


class NamedProvider(ResourceProvider):
    """Shared plumbing of the by-name providers: timing, repr, "replace when these change"."""

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


class LambdaSshKeyProvider(NamedProvider):
    """An SSH key by name; a generated key's private half is an output (mark it secret)."""

    replacing = ("name",)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on a new name or public key; no public key asked for means "generated"."""
        result = super().diff(_id, olds, news)
        wanted = news.get("public_key") or None
        if wanted is None:
            key_changed = not olds.get("generated", False)
        else:
            key_changed = bool(olds.get("generated")) or (
                str(wanted).strip() != str(olds.get("public_key") or "").strip()
            )
        if not key_changed:
            return result
        replaces = [*(result.replaces or []), "public_key"]
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=True)

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
        return CreateResult(key.id, ssh_key_outputs(props, key, private, created=existing is None))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Still listed: its current fields; else gone."""
        with open_client(self._timing) as api:
            key = next((k for k in api.list_ssh_keys() if k.id == id_), None)
        if key is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**inputs_of(props), "name": key.name, "public_key": key.public_key})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete what this stack made (adopted: left); already gone is fine."""
        if not made_here(props):
            return
        with open_client(self._timing) as api:
            try:
                api.delete_ssh_key(SshKeyId(id_))
            except LambdaNotFound:
                pass


class LambdaFilesystemProvider(NamedProvider):
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
            created = fs is None
            if fs is None:
                fs = api.create_filesystem(name, region)
        return CreateResult(fs.id, filesystem_outputs(props, fs, created=created))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Still listed: its current fields; else gone."""
        with open_client(self._timing) as api:
            fs = next((f for f in api.list_filesystems() if f.id == id_), None)
        if fs is None:
            return ReadResult(None, {})
        outs = {**inputs_of(props), "name": fs.name, "region": fs.region.name}
        return ReadResult(id_, {**outs, "mount_point": fs.mount_point, "is_in_use": fs.is_in_use})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete what this stack made (adopted: left); LambdaConflict while mounted;
        already gone is fine."""
        if not made_here(props):
            return
        with open_client(self._timing) as api:
            try:
                api.delete_filesystem(FilesystemId(id_))
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
        with pickler_restored():
            super().__init__(LambdaSshKeyProvider(), resource_name, props, merged)


class LambdaFilesystem(pulumi.dynamic.Resource, module="lambda", name="Filesystem"):
    """A Lambda persistent filesystem in one region."""

    filesystem_id: pulumi.Output[str]
    mount_point: pulumi.Output[str]

    def __init__(self, resource_name: str, name: Any, region: Any, opts: Any = None) -> None:
        props = {"name": name, "region": region, "filesystem_id": None, "mount_point": None}
        with pickler_restored():
            super().__init__(LambdaFilesystemProvider(), resource_name, props, opts)
