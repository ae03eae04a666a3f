"""What a rollback restores, kept on disk before it changes: file texts and env snapshots.

A compensation must work after a crash, so everything it restores is written here first
(and kept from the first attempt on: a retried step never replaces the backup by a
half-changed state). Env snapshots hold secret values: they are encrypted with a key
the worker holds (Fernet: AES-128-CBC with an HMAC), and every file is mode 0600 in a
0700 directory. File backups are not secret but are private all the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from orchestra_ops.adapters.files import create_once, write_atomically
from orchestra_ops.domain.vercel import EnvTarget, EnvType, EnvVar, EnvVarId
from orchestra_ops.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def load_or_create_key(path: Path) -> SecretStr:
    """The Fernet key in ``path``, created (mode 0600) when the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_once(path, Fernet.generate_key())  # whole, and the first worker's
    try:
        key = path.read_bytes().strip()
        Fernet(key)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{path}: not a readable state key ({type(error).__name__}); remove it to make "
            "a new one only if no backup made with it is still needed",
            source=str(path),
        ) from None
    return SecretStr(key.decode("ascii"))


class BackupStore:
    """Named backups under one private directory."""

    def __init__(self, root: Path, key: SecretStr) -> None:
        self.root = root
        try:
            self._fernet = Fernet(key.get_secret_value().encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                "ORCHESTRA_STATE_KEY is not a Fernet key (32 url-safe base64 bytes)",
                source="ORCHESTRA_STATE_KEY",
            ) from None

    def _path(self, name: str, kind: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"backup name {name!r} has characters a file name cannot")
        return self.root / f"{name}.{kind}"

    def _keep(self, path: Path, text: str) -> bool:
        if path.exists():
            return False
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(path, text, private=True)
        return True

    def keep_files(self, name: str, originals: Mapping[str, str | None]) -> bool:
        """Keep file texts (None: the file did not exist); False when kept already."""
        return self._keep(self._path(name, "files.json"), json.dumps(dict(originals)))

    def files(self, name: str) -> dict[str, str | None]:
        """The file texts kept under ``name``."""
        path = self._path(name, "files.json")
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"{path}: backup unreadable: {error}", source=str(path)) from None
        return {str(k): v if v is None else str(v) for k, v in loaded.items()}

    def keep_env(self, name: str, snapshot: list[EnvVar]) -> bool:
        """Keep an env snapshot, encrypted; False when one is kept already."""
        plain = json.dumps([_env_record(v) for v in snapshot]).encode("utf-8")
        token = self._fernet.encrypt(plain).decode("ascii")
        return self._keep(self._path(name, "env.fernet"), token)

    def env(self, name: str) -> list[EnvVar]:
        """The env snapshot kept under ``name``."""
        path = self._path(name, "env.fernet")
        try:
            plain = self._fernet.decrypt(path.read_bytes())
        except OSError as error:
            raise ConfigError(f"{path}: backup unreadable: {error}", source=str(path)) from None
        except InvalidToken:
            raise ConfigError(
                f"{path}: cannot be decrypted with this worker's state key "
                "(ORCHESTRA_STATE_KEY / ORCHESTRA_STATE_KEY_FILE differ from the run's?)",
                source=str(path),
            ) from None
        return [_env_var(item) for item in json.loads(plain)]

    def keep_checkpoint(self, name: str, checkpoint: str) -> bool:
        """Keep a stack checkpoint (its secrets are encrypted by the stack's provider)."""
        return self._keep(self._path(name, "checkpoint.json"), checkpoint)

    def checkpoint(self, name: str) -> str:
        """The stack checkpoint kept under ``name``."""
        path = self._path(name, "checkpoint.json")
        try:
            return path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{path}: backup unreadable: {error}", source=str(path)) from None

    def discard(self, name: str) -> None:
        """Forget the backups kept under ``name`` (after the run settled)."""
        for kind in ("files.json", "env.fernet", "checkpoint.json"):
            self._path(name, kind).unlink(missing_ok=True)


def _env_record(var: EnvVar) -> dict[str, object]:
    return {
        "key": var.key,
        "value": None if var.value is None else var.value.get_secret_value(),
        "type": var.type.value,
        "targets": [t.value for t in var.targets],
        "id": var.id,
        "git_branch": var.git_branch,
        "comment": var.comment,
    }


def _env_var(item: dict[str, object]) -> EnvVar:
    value = item.get("value")
    return EnvVar(
        key=str(item["key"]),
        value=None if value is None else SecretStr(str(value)),
        type=EnvType(str(item["type"])),
        targets=tuple(EnvTarget(str(t)) for t in item.get("targets") or ()),  # type: ignore[attr-defined]
        id=None if item.get("id") is None else EnvVarId(str(item["id"])),
        git_branch=None if item.get("git_branch") is None else str(item["git_branch"]),
        comment=str(item.get("comment") or ""),
    )
