"""Where a stack's state lives, how its secrets are encrypted, and whose state it is.

Pulumi Cloud when PULUMI_ACCESS_TOKEN is set; else PULUMI_BACKEND_URL when set; else a
local ``file://`` backend under ``<state_dir>/pulumi``. Non-Cloud backends use the
passphrase secrets provider, with PULUMI_CONFIG_PASSPHRASE or a generated passphrase kept
0600 in the state directory.

**The state's owner.** Two independent states (two teams, two CI machines, a test and a
demo) can hold stacks of the same project and stack name on one Lambda account. What a
stack launches carries its state's owner id (:func:`state_owner`), so one state never
adopts, retires, rolls back or judges as orphans the instances of another.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from orchestra_ops.adapters.files import create_once
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import PulumiSettings

_log = logging.getLogger(__name__)

#: Pulumi Cloud's service URL, when PULUMI_BACKEND_URL does not name another service.
CLOUD_URL = "https://api.pulumi.com"
#: The file in a ``file://`` backend that holds its owner id (made once, never changed).
OWNER_FILE = ".orchestra-owner"


@dataclass(frozen=True)
class Backend:
    """Where state lives and how secrets are encrypted; ``env`` holds credentials (no repr).
    ``wrong_key_hint``: what to do when the CLI finds the passphrase is not the stacks'."""

    url: str | None
    secrets_provider: str | None
    env: Mapping[str, str] = field(repr=False, default_factory=dict)
    wrong_key_hint: str = field(repr=False, default="")


def file_backend_dir(url: str | None) -> Path | None:
    """The directory of a ``file://`` backend, read as the Pulumi CLI reads its URL: ``~``
    is the home directory, %-escapes are decoded (``as_uri`` writes a space as ``%20``), a
    relative path starts at the working directory, a query is dropped. None otherwise."""
    if not url or not url.startswith("file://"):
        return None
    path = url.removeprefix("file://").split("?", 1)[0]
    return Path(unquote(path)).expanduser().absolute()


def diy_url(settings: PulumiSettings, state_dir: Path) -> str:
    """The self-managed backend's URL: PULUMI_BACKEND_URL, else ``<state_dir>/pulumi/state``."""
    return settings.backend_url or (state_dir / "pulumi" / "state").resolve().as_uri()


def choose_backend(settings: PulumiSettings, state_dir: Path, *, prepare: bool = True) -> Backend:
    """Cloud with a token; else PULUMI_BACKEND_URL; else ``file://<state_dir>/pulumi/state``.

    ``prepare``: make a ``file://`` backend's directory and generate the passphrase when
    neither is there yet. Without it nothing is written, and a passphrase that is neither
    set nor kept is left out of ``env``: what only reads finds no stack there anyway.
    """
    env: dict[str, str] = {}
    if settings.access_token is not None:
        env["PULUMI_ACCESS_TOKEN"] = settings.access_token.get_secret_value()
        if settings.backend_url:
            env["PULUMI_BACKEND_URL"] = settings.backend_url
        return Backend(settings.backend_url, None, env)
    url = diy_url(settings, state_dir)
    directory = file_backend_dir(url)
    if directory is not None and prepare:
        directory.mkdir(parents=True, exist_ok=True)
    env["PULUMI_BACKEND_URL"] = url
    passphrase = _passphrase(settings, state_dir / "pulumi", url, generate=prepare)
    if passphrase is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
    return Backend(url, "passphrase", env, wrong_key_hint(settings, state_dir))


def _holds_stacks(url: str) -> bool:
    """A ``file://`` backend with at least one stack (other backends cannot be asked here)."""
    directory = file_backend_dir(url)
    if directory is None:
        return False
    stacks = directory / ".pulumi" / "stacks"
    return stacks.is_dir() and any(p.is_file() for p in stacks.rglob("*.json*"))


def passphrase_problem(settings: PulumiSettings, state_dir: Path) -> str | None:
    """Why the stacks' passphrase cannot be had (for ``doctor``); writes nothing."""
    try:
        choose_backend(settings, state_dir, prepare=False)
    except ConfigError as error:
        return str(error)
    return None


def holds_no_state(backend: Backend) -> bool:
    """A ``file://`` backend whose directory was never made: no stack can be in it."""
    directory = file_backend_dir(backend.url)
    return directory is not None and not directory.exists()


def wrong_key_hint(settings: PulumiSettings, state_dir: Path) -> str:
    """What to do when the passphrase in use is not the stacks', naming where it came from."""
    if settings.config_passphrase is not None:
        return (
            "PULUMI_CONFIG_PASSPHRASE is not the passphrase the stack was created with; "
            "set it to that one"
        )
    return (
        f"{state_dir / 'pulumi' / 'passphrase'} does not hold the passphrase the stack was "
        f"created with; set PULUMI_CONFIG_PASSPHRASE to that one, or restore the file from a "
        "backup of the state directory"
    )


_LOST_KEY_FIX = (
    "restore it from a backup of the state directory, or set PULUMI_CONFIG_PASSPHRASE to "
    "the passphrase the stacks were encrypted with"
)


def _passphrase(settings: PulumiSettings, root: Path, url: str, *, generate: bool) -> str | None:
    if settings.config_passphrase is not None:
        return settings.config_passphrase.get_secret_value()
    path = root / "passphrase"
    if not path.exists():
        if _holds_stacks(url):  # a new one would not open them, and would hide the loss
            raise ConfigError(
                f"{path} is missing, and the stacks in {url} were encrypted with the "
                f"passphrase it held: {_LOST_KEY_FIX}",
                source=str(path),
            )
        if not generate:
            return None
        create_once(path, (secrets.token_urlsafe(32) + "\n").encode())
    passphrase = path.read_text().strip()
    if not passphrase:  # never generated so: a truncated file, and no key to any secret
        fix = (
            _LOST_KEY_FIX
            if _holds_stacks(url)
            else "no stack uses it yet: delete it, and a new one is generated"
        )
        raise ConfigError(f"{path} is empty: {fix}", source=str(path))
    return passphrase


def state_owner(settings: PulumiSettings, state_dir: Path) -> str:
    """The id (16 hex) of the state the stacks live in, as :func:`choose_backend` picks it.

    A service backend (Pulumi Cloud or self-hosted): its URL and organisation (PULUMI_ORG
    is required: two tokens' default organisations cannot be told apart offline). A
    ``file://`` backend: a random id kept in the backend directory, made on first use
    (or, when that file was lost, the one its stacks record), so two state directories
    are two owners even at the same path on two machines, and a copied state keeps its
    owner. Another self-managed backend (``s3://``…): its bucket and path, without the
    query (options such as the region do not change whose state it is).
    """
    if settings.access_token is not None:
        if not settings.org:
            raise ConfigError(
                "PULUMI_ORG: required with PULUMI_ACCESS_TOKEN, as the organisation whose "
                "stacks these are (it tells apart what two organisations launch on one "
                "Lambda account)",
                source="PULUMI_ORG",
            )
        return _digest("service", (settings.backend_url or CLOUD_URL).rstrip("/"), settings.org)
    url = diy_url(settings, state_dir)
    directory = file_backend_dir(url)
    if directory is None:
        return _digest("diy", url.split("?", 1)[0].rstrip("/"))
    return _owner_file(directory / OWNER_FILE)


def known_state_owner(settings: PulumiSettings, state_dir: Path) -> str | None:
    """:func:`state_owner` without writing: None for a ``file://`` backend that has no owner
    file and whose stacks record none (nothing was launched from it)."""
    url = diy_url(settings, state_dir)
    directory = file_backend_dir(url)
    if settings.access_token is not None or directory is None:
        return state_owner(settings, state_dir)
    path = directory / OWNER_FILE
    if path.exists():
        return _owner_file(path)
    recorded = _owners_in_checkpoints(path.parent)
    return _one_recorded(path, recorded) if recorded else None


def check_owner_file(settings: PulumiSettings, state_dir: Path) -> None:
    """ConfigError naming the file when a ``file://`` backend's owner file is damaged (one
    not made yet is made by the first stack operation); writes nothing."""
    if settings.access_token is not None:
        return
    directory = file_backend_dir(diy_url(settings, state_dir))
    if directory is not None and (directory / OWNER_FILE).exists():
        _owner_file(directory / OWNER_FILE)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _owner_file(path: Path) -> str:
    if not path.exists():
        _make_owner_file(path)
    value = path.read_text(encoding="utf-8").strip()
    if not _is_owner(value):
        raise ConfigError(
            f"{path}: not an owner id (16 hex digits expected); restore it from a backup of "
            "the state, as it marks what this state launched",
            source=str(path),
        )
    return value


def _make_owner_file(path: Path) -> None:
    """A new id, or, when the file was lost, the one the stacks' instances record."""
    recorded = _owners_in_checkpoints(path.parent)
    owner = _one_recorded(path, recorded) if recorded else secrets.token_hex(8)
    if recorded:
        _log.warning("%s was missing: restored the owner id its stacks record", path)
    create_once(path, (owner + "\n").encode())  # made meanwhile elsewhere: that one


def _one_recorded(path: Path, recorded: set[str]) -> str:
    if len(recorded) > 1:
        raise ConfigError(
            f"{path} is missing and this state's stacks record {len(recorded)} owner ids "
            f"({', '.join(sorted(recorded))}): write the right one into {path}",
            source=str(path),
        )
    return next(iter(recorded))


def _owners_in_checkpoints(backend_dir: Path) -> set[str]:
    """The owner ids the instances in a ``file://`` backend's checkpoints carry."""
    owners: set[str] = set()
    for checkpoint in (backend_dir / ".pulumi" / "stacks").glob("*/*.json*"):
        if checkpoint.name.endswith((".bak", ".attrs")) or ".json.bak" in checkpoint.name:
            continue
        try:
            raw = checkpoint.read_bytes()
            text = gzip.decompress(raw) if checkpoint.suffix == ".gz" else raw
            data = json.loads(text)
        except (OSError, ValueError):
            continue  # unreadable: the engine says so when it opens the stack
        latest = (data.get("checkpoint") or {}).get("latest") or {}
        for resource in latest.get("resources") or []:
            owner = (resource.get("inputs") or {}).get("owner")
            if str(resource.get("type", "")).endswith("lambda:Instance") and _is_owner(owner):
                owners.add(str(owner))
    return owners


def _is_owner(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value)
    )
