"""Whether a passphrase opens a stack, checked as the Pulumi CLI checks it.

The passphrase secrets provider keeps with each stack a salt and the word ``pulumi``
encrypted under the key the passphrase derives (PBKDF2-HMAC-SHA256, 1,000,000 rounds,
32 bytes; AES-256-GCM): ``v1:<salt>:v1:<nonce>:<ciphertext>``, each part base64. Opening
that one value tells whether the passphrase is the stack's; no secret of the state is
decrypted, and nothing is written. The CLI checks two such salts: the one in the stack's
state and the ``encryptionsalt`` of its stack file (``Pulumi.<stack>.yaml``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError, StackError

_ROUNDS = 1_000_000
_KEY_BYTES = 32
_NONCE_BYTES = 12  # Go's GCM, as the CLI seals
_KNOWN_PLAINTEXT = b"pulumi"


def opens(passphrase: str, salt_state: str) -> bool:
    """True when ``passphrase`` opens ``salt_state``; ValueError when that is no v1 state."""
    parts = salt_state.split(":")
    if len(parts) != 5 or parts[0] != "v1" or parts[2] != "v1":
        raise ValueError(f"not a v1 passphrase salt ({salt_state[:12]!r}...)")
    try:
        salt, nonce, ciphertext = (
            base64.b64decode(p, validate=True) for p in (parts[1], parts[3], parts[4])
        )
    except binascii.Error as error:
        raise ValueError(f"the passphrase salt is not base64 ({error})") from error
    if len(nonce) != _NONCE_BYTES:
        raise ValueError(f"its nonce is {len(nonce)} bytes, not {_NONCE_BYTES}")
    try:
        return AESGCM(_key(passphrase, salt)).decrypt(nonce, ciphertext, None) == _KNOWN_PLAINTEXT
    except InvalidTag:
        return False


@functools.lru_cache(maxsize=32)
def _key(passphrase: str, salt: bytes) -> bytes:
    """The key a passphrase derives with a salt: 0.6 s of CPU here, so kept per process (as
    the CLI keeps its secrets managers), since each stack is checked by two salts and a
    process may check it again."""
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, _ROUNDS, _KEY_BYTES)


def checkpoint_salt(checkpoint: str) -> str | None:
    """The passphrase salt a checkpoint's state is encrypted under; None when its secrets
    provider is another (or it has none yet); ValueError when a passphrase provider's
    salt is missing or no string."""
    deployment: Any = json.loads(checkpoint).get("deployment") or {}
    provider = deployment.get("secrets_providers") or {}
    if provider.get("type") != "passphrase":
        return None
    salt = (provider.get("state") or {}).get("salt")
    if not isinstance(salt, str):
        raise ValueError("the passphrase secrets provider has no salt")
    return salt


def stack_file_salt(path: Path) -> str | None:
    """The ``encryptionsalt`` of a stack file (``Pulumi.<stack>.yaml``), which the CLI checks
    too; None when the file or the key is absent; ValueError when it is no string."""
    if not path.is_file():
        return None
    try:
        data = load_yaml(path.read_bytes(), path.name, typ="safe")
    except ConfigError as error:
        raise ValueError(f"it is not YAML ({error})") from error
    salt = data.get("encryptionsalt") if isinstance(data, dict) else None
    if salt is not None and not isinstance(salt, str):
        raise ValueError("its encryptionsalt is not a string")
    return salt


def check_key(
    stack: str,
    passphrase: str | None,
    salts: Mapping[str, Callable[[], str | None]],
    wrong_key_hint: str,
) -> None:
    """StackError unless ``passphrase`` opens every salt of ``stack``. ``salts``: where each
    is kept -> how to read it (None: there is none), the deciding one first (the state's,
    which the stack's secrets are under). When the first salt there is does not open, the
    passphrase is wrong; when it opens and a later one does not, that later salt is at
    fault. An unreadable salt is an error too: the CLI would refuse the stack as well."""
    deciding = True
    for place, read in salts.items():
        try:
            salt = read()
            fits = salt is None or (passphrase is not None and opens(passphrase, salt))
        except ValueError as error:
            raise StackError(
                f"{stack}: the passphrase salt of {place} cannot be read ({error}), so every "
                "update of the stack would fail"
            ) from error
        if not fits and deciding:
            raise StackError(
                f"{stack}: the passphrase does not open the stack's secrets, so every update "
                f"of it would fail: {wrong_key_hint}"
            )
        if not fits:
            raise StackError(
                f"{stack}: the passphrase opens the stack's secrets, but the salt of {place} "
                "was made with another passphrase, so every update of it would fail: restore "
                "that salt from version control or a backup"
            )
        deciding = deciding and salt is None
