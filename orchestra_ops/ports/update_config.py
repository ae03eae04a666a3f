"""The update-config port: the dependency-update bot's files and the security workflows a
target repository should have, planned (with diffs) before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from orchestra_ops.domain.security.update_config import ConfigChange, ConfigPlan


class UpdateConfig(Protocol):
    """Plans and writes the generated update configuration of a repository."""

    def plan(self, repo: Path) -> ConfigPlan:
        """The files as they should be, with their diffs; ConfigError when one fails its
        schema or a setting is bad."""
        ...

    def write(self, repo: Path, changes: list[ConfigChange]) -> list[str]:
        """Write the changed files; the paths written."""
        ...
