"""Read a target repository's Pulumi projects for the generated infrastructure workflow.

Reads only what :func:`~orchestra_ops.domain.pulumi_ci_projects.pulumi_projects` needs
(project and stack files, requirements and lockfiles, program code for StackReferences),
skipping installed packages and virtual environments.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestra_ops.domain.infrastructure_workflow import PulumiProject
from orchestra_ops.domain.pulumi_ci_projects import pulumi_projects

_SKIPPED = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".nox"})
_WANTED_SUFFIXES = (".yaml", ".yml", ".py", ".ts", ".tsx", ".js", ".mjs", ".cjs")
_WANTED_NAMES = frozenset({"requirements.txt", "package-lock.json"})
_LIMIT = 1024 * 1024


def _read(path: Path) -> str:
    if path.name == "package-lock.json":
        return ""  # only its presence matters
    try:
        if path.stat().st_size > _LIMIT:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def repository_snapshot(repo: Path) -> dict[str, str]:
    """path -> text of the files the Pulumi project discovery reads."""
    snapshot: dict[str, str] = {}
    for folder, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        base = Path(folder)
        for name in sorted(files):
            if name in _WANTED_NAMES or name.endswith(_WANTED_SUFFIXES):
                path = base / name
                snapshot[path.relative_to(repo).as_posix()] = _read(path)
    return snapshot


def find_pulumi_projects(repo: Path) -> list[PulumiProject]:
    """The Pulumi projects of ``repo``, in dependency order."""
    return pulumi_projects(repository_snapshot(repo))
