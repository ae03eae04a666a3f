"""Find the manifests of a target repository, and name the ones no scanner can read.

Scanned: pinned ``requirements*.txt`` and compiled ``requirements*.lock`` files
(pip-audit, safety) and ``package-lock.json`` files (npm audit). Reported as
unsupported, by name: ``pyproject.toml`` without a requirements file next to it,
Python lockfiles pip-audit cannot read directly (``uv.lock``, ``poetry.lock``,
``Pipfile.lock``), the lockfiles of other JavaScript package managers, and a
``package.json`` with no lockfile at all.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported
from orchestra_ops.errors import ConfigError

SKIPPED_DIRS = frozenset({"node_modules", ".venv", "venv", ".git", "__pycache__", ".tox"})
_PYTHON_LOCKS = {
    "uv.lock": "export it for auditing: `uv export --format requirements-txt -o requirements.txt`",
    "poetry.lock": "export it for auditing: `poetry export -o requirements.txt`",
    "Pipfile.lock": "export it for auditing: `pipenv requirements > requirements.txt`",
}
_JS_LOCKS = {
    "pnpm-lock.yaml": "pnpm",
    "yarn.lock": "yarn",
    "bun.lock": "bun",
    "bun.lockb": "bun",
}


def _walk(root: Path) -> list[tuple[Path, list[str]]]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found.append((Path(folder), sorted(files)))
    return found


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _python(root: Path, folder: Path, files: list[str]) -> tuple[list[Manifest], list[Unsupported]]:
    requirements = [
        f
        for f in files
        if fnmatch.fnmatch(f, "requirements*.txt") or fnmatch.fnmatch(f, "requirements*.lock")
    ]
    manifests = [Manifest(_rel(root, folder / f), ManifestKind.REQUIREMENTS) for f in requirements]
    unsupported = [
        Unsupported(_rel(root, folder / name), f"{name} is not audited directly; {hint}")
        for name, hint in _PYTHON_LOCKS.items()
        if name in files
    ]
    if "pyproject.toml" in files and not requirements:
        unsupported.append(
            Unsupported(
                _rel(root, folder / "pyproject.toml"),
                "pyproject.toml has no pinned requirements file next to it; auditing it would "
                "resolve against the index. Add a lock: "
                "`uv pip compile pyproject.toml -o requirements.txt`",
            )
        )
    return manifests, unsupported


def _npm(root: Path, folder: Path, files: list[str]) -> tuple[list[Manifest], list[Unsupported]]:
    manifests, unsupported = [], []
    if "package-lock.json" in files:
        manifests.append(Manifest(_rel(root, folder / "package-lock.json"), ManifestKind.NPM_LOCK))
    for name, manager in _JS_LOCKS.items():
        if name in files:
            reason = (
                f"{name} is a {manager} lockfile; npm audit reads only package-lock.json "
                f"(use `{manager} audit`, or generate a package-lock.json)"
            )
            unsupported.append(Unsupported(_rel(root, folder / name), reason))
    has_lock = "package-lock.json" in files or any(n in files for n in _JS_LOCKS)
    if "package.json" in files and not has_lock:
        reason = "package.json has no lockfile next to it; npm audit needs package-lock.json"
        unsupported.append(Unsupported(_rel(root, folder / "package.json"), reason))
    return manifests, unsupported


def discover(repo: Path) -> tuple[list[Manifest], list[Unsupported]]:
    """The scannable manifests of ``repo`` and the unsupported ones, both sorted by path."""
    if not repo.is_dir():
        raise ConfigError(f"cannot scan {repo}: it is not a directory", source=str(repo))
    manifests: list[Manifest] = []
    unsupported: list[Unsupported] = []
    for folder, files in _walk(repo):
        for found, skipped in (_python(repo, folder, files), _npm(repo, folder, files)):
            manifests += found
            unsupported += skipped
    return sorted(manifests, key=lambda m: m.path), sorted(unsupported, key=lambda u: u.path)
