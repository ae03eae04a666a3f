"""Rollback backups: private files, encrypted env snapshots, the first snapshot kept."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.backups import BackupStore, load_or_create_key
from orchestra_ops.domain.vercel import EnvTarget, EnvType, EnvVar
from orchestra_ops.errors import ConfigError

CANARY = "canary-3b9d-DO-NOT-LEAK"


def _var(key: str, value: str | None) -> EnvVar:
    secret = None if value is None else SecretStr(value)
    return EnvVar(key, secret, EnvType.ENCRYPTED, (EnvTarget.PRODUCTION,))


def test_env_snapshots_are_encrypted_private_and_read_back(tmp_path: Path) -> None:
    """The secret value is nowhere on disk in clear; files 0600, directory 0700."""
    key = load_or_create_key(tmp_path / "keys" / "state.key")
    store = BackupStore(tmp_path / "backups", key)
    assert store.keep_env("run-1", [_var("NEXTAUTH_SECRET", CANARY), _var("HIDDEN", None)])
    back = store.env("run-1")
    assert [(v.key, v.value and v.value.get_secret_value()) for v in back] == [
        ("NEXTAUTH_SECRET", CANARY),
        ("HIDDEN", None),
    ]
    for path in (tmp_path / "backups").rglob("*"):
        assert CANARY.encode() not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "state.key").stat().st_mode) == 0o600


def test_the_first_backup_of_a_run_is_kept_over_a_retry(tmp_path: Path) -> None:
    """A retried step must not replace the snapshot by its own half-changed state."""
    store = BackupStore(tmp_path / "b", load_or_create_key(tmp_path / "k"))
    assert store.keep_files("run-1", {"vercel.json": None, "next.config.js": "old"})
    assert not store.keep_files("run-1", {"vercel.json": "half-written", "next.config.js": "new"})
    assert store.files("run-1") == {"vercel.json": None, "next.config.js": "old"}
    store.discard("run-1")
    with pytest.raises(ConfigError, match="backup unreadable"):
        store.files("run-1")


def test_another_workers_key_cannot_read_a_snapshot(tmp_path: Path) -> None:
    """A different key is a clear error naming the file, never garbage or a traceback."""
    BackupStore(tmp_path / "b", load_or_create_key(tmp_path / "k1")).keep_env(
        "run-1", [_var("A", "1")]
    )
    other = BackupStore(tmp_path / "b", load_or_create_key(tmp_path / "k2"))
    with pytest.raises(ConfigError, match="cannot be decrypted with this worker's state key"):
        other.env("run-1")


def test_a_malformed_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    """ORCHESTRA_STATE_KEY that is not a Fernet key; a key file that is not one either."""
    with pytest.raises(ConfigError, match="ORCHESTRA_STATE_KEY"):
        BackupStore(tmp_path, SecretStr("not-a-key"))
    bad = tmp_path / "bad.key"
    bad.write_text("garbage")
    with pytest.raises(ConfigError, match="not a readable state key"):
        load_or_create_key(bad)


def test_workers_making_the_key_together_all_read_the_first_ones_whole(tmp_path: Path) -> None:
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(_key_text, [tmp_path / "state.key"] * 16)
    assert len(set(keys)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.key"]


def _key_text(path: Path) -> str:
    return load_or_create_key(path).get_secret_value()
