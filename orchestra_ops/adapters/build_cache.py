"""Preflight builds kept by everything that went into them, so the same inputs build once.

A build is kept only when its install is frozen to a lockfile (``npm ci``, ``pnpm install
--frozen-lockfile``, ...) by a package manager of a known version: then the copied sources
with the new configuration, the install and build commands, the package manager and node
that run them, the whole environment the build gets and the package managers' user and
global config files decide the result, and the key covers each of them. A tree with a
symlink that leaves it is never keyed (what it points at could change unseen).

A hit skips install and build: the registry is not asked again. A failed build is never
kept, so a failure is always built again. The cache is best-effort: an entry that cannot
be read or whose files do not match their digests is a miss (and is removed); a cache
that cannot be written is reported, never a failed build.

Entries are directories written beside their place and renamed into it (a killed writer
leaves no half entry; its staging directory is removed an hour later); the newest
:data:`KEEP` are kept.
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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

FORMAT = "2"  # part of every key: a change of what an entry holds starts afresh
KEEP = 20
STALE_STAGING_S = 3600
#: The package managers' own config files, under HOME and node's prefix.
_USER_CONFIGS = (".npmrc", ".yarnrc", ".yarnrc.yml", ".config/pnpm/rc")


@dataclass(frozen=True)
class CachedBuild:
    """A kept build: its static output and when it was built."""

    output: dict[str, bytes]
    built_at: str


def build_key(
    root: Path, commands: Sequence[Sequence[str]], env: Mapping[str, str], extra: str
) -> str | None:
    """The digest of what decides a frozen build run in ``root`` with ``env``; None when a
    symlink in ``root`` leaves it.

    ``root`` is the copy the build runs in (node_modules and earlier outputs left out),
    ``commands`` the install and build command lines, ``env`` the whole environment the
    build gets, ``extra`` what else decides the output (framework and output directory).
    Values enter the digest only, never the cache.
    """
    digest = hashlib.sha256(f"orchestra-ops build {FORMAT}\0{extra}\0".encode())
    node = shutil.which("node", path=env.get("PATH"))  # the node the build runs
    digest.update(f"node {node_version(node, root, env)}\0".encode())
    for command in commands:
        digest.update(json.dumps([*command, _installed(command[0])]).encode() + b"\0")
    for name in sorted(env):
        digest.update(os.fsencode(f"{name}={env[name]}") + b"\0")
    for config in _config_files(env, node):
        digest.update(os.fsencode(config) + b"\0" + _content(config))
    real_root = root.resolve()
    for path in sorted(root.rglob("*")):
        relative = os.fsencode(path.relative_to(root).as_posix())
        if path.is_symlink():
            if not path.resolve().is_relative_to(real_root):
                return None
            digest.update(b"L" + relative + b"\0" + os.fsencode(os.readlink(path)) + b"\0")
        elif path.is_file():
            executable = b"x" if os.access(path, os.X_OK) else b"-"
            content = hashlib.sha256(path.read_bytes()).digest()
            digest.update(b"F" + executable + relative + b"\0" + content)
    return digest.hexdigest()


def _config_files(env: Mapping[str, str], node: str | None) -> list[Path]:
    """The package managers' user config files and npm's global one (beside ``node``)."""
    places = [Path(env["HOME"]) / name for name in _USER_CONFIGS] if env.get("HOME") else []
    if node is not None:
        places.append(Path(node).resolve().parents[1] / "etc" / "npmrc")
    return places


def _content(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return b"-"


def _installed(executable: str) -> str:
    """Where ``executable`` really is and when it was installed: an upgraded npm differs."""
    try:
        real = Path(executable).resolve(strict=True)
        return f"{real}@{real.stat().st_mtime_ns}"
    except OSError:
        return executable


def node_version(node: str | None, cwd: Path, env: Mapping[str, str]) -> str:
    """``node --version`` as the build would run it ("" when node cannot say)."""
    if node is None:
        return ""
    try:
        done = subprocess.run(
            [node, "--version"],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


class BuildCache:
    """Kept preflight builds in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, key: str) -> CachedBuild | None:
        """The build kept under ``key``; None when there is none or it is not whole (then
        it is removed, so the next build can be kept)."""
        entry = self.directory / key
        if not entry.is_dir():
            return None
        try:
            meta = json.loads((entry / "build.json").read_text(encoding="utf-8"))
            digests: dict[str, str] = meta["files"]
            if any(_escapes(relative) for relative in digests):
                raise ValueError("an entry's path leaves it")
            output = {relative: (entry / "output" / relative).read_bytes() for relative in digests}
            whole = bool(output) and all(
                hashlib.sha256(data).hexdigest() == digests[relative]
                for relative, data in output.items()
            )
        except (OSError, ValueError, KeyError, TypeError):
            whole = False
        if not whole:
            shutil.rmtree(entry, ignore_errors=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)  # used: the newest are the ones kept
        return CachedBuild(output, str(meta.get("built_at", "")))

    def put(self, key: str, output: Mapping[str, bytes]) -> str | None:
        """Keep ``output`` under ``key``, whole or not at all; why it was not kept, or None.

        An empty output, or one with a path that leaves its folder, is not kept.
        """
        if not output:
            return "the build has no static output to keep"
        if any(_escapes(relative) for relative in output):
            return "an output path leaves its folder"
        staged = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            staged = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.directory))
            for relative, data in output.items():
                target = staged / "output" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            meta = {
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": {r: hashlib.sha256(d).hexdigest() for r, d in output.items()},
            }
            (staged / "build.json").write_text(json.dumps(meta), encoding="utf-8")
            if not (self.directory / key).exists():  # else another process kept it first
                os.replace(staged, self.directory / key)
            self._prune()
        except OSError as error:
            return f"{self.directory}: {error.strerror or error}"
        finally:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
        return None

    def _prune(self) -> None:
        entries, now = [], time.time()
        for path in self.directory.iterdir():
            with contextlib.suppress(OSError):  # another process may be pruning too
                modified = path.stat().st_mtime
                if len(path.name) == 64:
                    entries.append((modified, path))
                elif path.name.startswith(".") and now - modified > STALE_STAGING_S:
                    shutil.rmtree(path, ignore_errors=True)  # a killed writer's staging
        for _, old in sorted(entries, reverse=True)[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


def _escapes(relative: str) -> bool:
    path = PurePosixPath(relative)
    return path.is_absolute() or ".." in path.parts or not path.parts
