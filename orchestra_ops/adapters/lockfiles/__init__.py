"""Lockfile readers: the raw formats of poetry, uv, pipenv, pnpm, yarn and bun.

Each reader turns one lockfile's text into exact ``name==version`` pins
(:class:`~orchestra_ops.domain.security.manifests.LockedPackage`) and the entries it
cannot audit (git, URL or local sources), each named with its line and the reason.
:func:`read_lock` picks the reader by file name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from orchestra_ops.adapters.lockfiles.base import ParsedLock
from orchestra_ops.adapters.lockfiles.js import read_bun_lock, read_pnpm_lock, read_yarn_lock
from orchestra_ops.adapters.lockfiles.python import (
    read_pipfile_lock,
    read_poetry_lock,
    read_uv_lock,
)

READERS: dict[str, Callable[[str, str], ParsedLock]] = {
    "poetry.lock": read_poetry_lock,
    "uv.lock": read_uv_lock,
    "Pipfile.lock": read_pipfile_lock,
    "pnpm-lock.yaml": read_pnpm_lock,
    "yarn.lock": read_yarn_lock,
    "bun.lock": read_bun_lock,
}
PYTHON_LOCKS = frozenset({"poetry.lock", "uv.lock", "Pipfile.lock"})
JS_LOCKS = frozenset({"pnpm-lock.yaml", "yarn.lock", "bun.lock"})


def read_lock(text: str, source: str) -> ParsedLock:
    """The pins of the lockfile at ``source`` (its file name picks the format)."""
    reader = READERS.get(PurePosixPath(source).name)
    if reader is None:
        raise ValueError(f"{source}: no lockfile reader for this file name")
    return reader(text, source)


__all__ = ["JS_LOCKS", "PYTHON_LOCKS", "READERS", "ParsedLock", "read_lock"]
