"""Preflight builds kept by everything that went into them, so the same inputs build once.

A build is kept only when its install is frozen to a lockfile (``npm ci``, ``pnpm install
--frozen-lockfile``, ...): then the copied sources with the new configuration, the install
and build commands, the package manager that runs them, node's version and the build's
environment decide the result, and the key covers each of them. A rerun of a migration,
a retried attempt or the next app of a monorepo with the same inputs reuses the output
and says so; a failed build is never kept, so a failure is always built again.

Entries are directories under the cache directory, written beside it and renamed into
place (a killed writer leaves no half entry); the newest :data:`KEEP` are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

FORMAT = "1"  # part of every key: a change of what an entry holds starts afresh
KEEP = 20


@dataclass(frozen=True)
class CachedBuild:
    """A kept build: its static output and when it was built."""

    output: dict[str, bytes]
    built_at: str


def build_key(
    root: Path, commands: Sequence[Sequence[str]], build_env: Mapping[str, str], extra: str
) -> str:
    """The digest of what decides a frozen build run in ``root``.

    ``root`` is the copy the build runs in (node_modules and earlier outputs left out),
    ``commands`` the install and build command lines, ``extra`` what else decides the
    output (framework and output directory). The environment's values enter the digest
    only, never the cache.
    """
    digest = hashlib.sha256(f"orchestra-ops build {FORMAT}\0{extra}\0".encode())
    digest.update(f"node {node_version()}\0".encode())
    for command in commands:
        digest.update(json.dumps([*command, _installed(command[0])]).encode() + b"\0")
    for name in sorted(build_env):
        digest.update(f"{name}={build_env[name]}\0".encode())
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix().encode()
        if path.is_symlink():
            digest.update(b"L" + relative + b"\0" + os.readlink(path).encode() + b"\0")
        elif path.is_file():
            executable = b"x" if os.access(path, os.X_OK) else b"-"
            content = hashlib.sha256(path.read_bytes()).digest()
            digest.update(b"F" + executable + relative + b"\0" + content)
    return digest.hexdigest()


def _installed(executable: str) -> str:
    """Where ``executable`` really is and when it was installed: an upgraded npm differs."""
    try:
        real = Path(executable).resolve(strict=True)
        return f"{real}@{real.stat().st_mtime_ns}"
    except OSError:
        return executable


def node_version() -> str:
    """``node --version`` ("" when node cannot say): a new node is a new build."""
    node = shutil.which("node")
    if node is None:
        return ""
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


class BuildCache:
    """Kept preflight builds in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, key: str) -> CachedBuild | None:
        """The build kept under ``key``; None when there is none or it cannot be read."""
        entry = self.directory / key
        try:
            meta = json.loads((entry / "build.json").read_text(encoding="utf-8"))
            files = {
                path.relative_to(entry / "output").as_posix(): path.read_bytes()
                for path in sorted((entry / "output").rglob("*"))
                if path.is_file()
            }
            os.utime(entry)  # used: the newest are the ones kept
        except (OSError, ValueError):
            return None
        if files != {} and meta.get("files") == len(files):
            return CachedBuild(files, str(meta.get("built_at", "")))
        return None

    def put(self, key: str, output: Mapping[str, bytes]) -> None:
        """Keep ``output`` under ``key`` (whole or not at all); an output with a path that
        leaves its folder, or none at all, is not kept."""
        if not output or any(_escapes(relative) for relative in output):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.directory))
        try:
            for relative, data in output.items():
                target = staged / "output" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            built_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            meta = {"built_at": built_at, "files": len(output)}
            (staged / "build.json").write_text(json.dumps(meta), encoding="utf-8")
            os.replace(staged, self.directory / key)
        except OSError:
            pass  # another process kept the same build first, or the disk is full
        finally:
            shutil.rmtree(staged, ignore_errors=True)
        self._prune()

    def _prune(self) -> None:
        entries = []
        for path in self.directory.iterdir():
            with contextlib.suppress(OSError):  # another process may be pruning too
                if len(path.name) == 64 and path.is_dir():
                    entries.append((path.stat().st_mtime, path))
        for _, old in sorted(entries, reverse=True)[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


def _escapes(relative: str) -> bool:
    path = PurePosixPath(relative)
    return path.is_absolute() or ".." in path.parts or not path.parts
