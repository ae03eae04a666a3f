"""The repository port: a git work tree a reorganisation plan is carried out on.

``adapters/reorg_apply.py`` implements it over git with a durable journal in ``.git``;
``wiring.Clients.reorg_repository`` builds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from orchestra_ops.domain.reorg.model import ApplyResult, Plan


class ReorgRepository(Protocol):
    """Apply, resume and roll back reorganisation runs on one repository, journaled."""

    repo: Path

    def snapshot(self) -> dict[str, str]:
        """Every tracked file as text; a symlink or a submodule as ``""`` (never read)."""
        ...

    def links(self) -> dict[str, str | None]:
        """Each tracked symlink and the path it resolves to (None: outside the repo)."""
        ...

    def completed_plan(self) -> Plan | None:
        """The plan of the last run, when that run completed (re-applying it is a no-op)."""
        ...

    def apply(self, plan: Plan) -> ApplyResult:
        """Carry the plan out on a new branch (ReorgError before any change when refused)."""
        ...

    def resume(self) -> ApplyResult:
        """Finish the open run from where it stopped."""
        ...

    def rollback(self) -> None:
        """Put the tree, index and branches back exactly as they were before the run."""
        ...

    @property
    def checkpoint_dir(self) -> Path:
        """Where state checkpoints of this repository's runs are kept."""
        ...

    def migrated_stacks(self) -> set[str]:
        """The stacks (``org/project/stack``) the current run's state migration moved."""
        ...

    def record_migrated(self, stack: str) -> None:
        """Record that ``stack``'s state now carries its new project name."""
        ...
