"""Whether a passphrase opens a stack, checked as the Pulumi CLI checks it.

The passphrase secrets provider keeps with each stack a salt and the word ``pulumi``
encrypted under the key the passphrase derives (PBKDF2-HMAC-SHA256, 1,000,000 rounds,
32 bytes; AES-256-GCM): ``v1:<salt>:v1:<nonce>:<ciphertext>``, each part base64. Opening
that one value tells whether the passphrase is the stack's; no secret of the state is
decrypted, and nothing is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ROUNDS = 1_000_000
_KEY_BYTES = 32
_KNOWN_PLAINTEXT = b"pulumi"


def opens(passphrase: str, salt_state: str) -> bool:
    """True when ``passphrase`` opens ``salt_state``; ValueError when that is no v1 state."""
    version, salt, *sealed = salt_state.split(":")
    if version != "v1" or len(sealed) != 3 or sealed[0] != "v1":
        raise ValueError(f"not a v1 passphrase salt: {salt_state[:12]}...")
    try:
        salt_bytes, nonce, ciphertext = (
            base64.b64decode(p, validate=True) for p in (salt, *sealed[1:])
        )
    except binascii.Error as error:
        raise ValueError(f"the passphrase salt is not base64 ({error})") from error
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt_bytes, _ROUNDS, _KEY_BYTES)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, None) == _KNOWN_PLAINTEXT
    except (InvalidTag, ValueError):
        return False


def checkpoint_salt(checkpoint: str) -> str | None:
    """The passphrase salt a checkpoint's state is encrypted under; None when its secrets
    provider is another (or it has none yet: a stack never updated)."""
    deployment: Any = json.loads(checkpoint).get("deployment") or {}
    provider = deployment.get("secrets_providers") or {}
    if provider.get("type") != "passphrase":
        return None
    salt = (provider.get("state") or {}).get("salt")
    return salt if isinstance(salt, str) else None
