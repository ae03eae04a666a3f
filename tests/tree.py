"""A fingerprint of a work tree, to tell that an operation left it exactly as it was."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tree_hash(repo: Path) -> str:
    """SHA-256 of every file (path, executable bit, bytes; a link: its target), minus .git."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if not (Path(root) == repo and d == ".git"))
        for name in sorted(files):
            path = Path(root) / name
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            executable = not path.is_symlink() and os.access(path, os.X_OK)
            relative = path.relative_to(repo).as_posix().encode() + (b"*" if executable else b"")
            digest.update(len(relative).to_bytes(8, "big") + relative)
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
