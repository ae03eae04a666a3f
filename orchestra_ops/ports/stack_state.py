"""The stack-state port: carrying Pulumi stack state over to a renamed project.

The reorganisation renames projects in code; the state in the backend still carries
the old names until a ``StateMigrator`` (an engine adapter, later work) runs. Without
one, the apply phase ends in ``state migration pending`` and lists the CLI commands.
"""

from __future__ import annotations

from typing import Protocol


class StateMigrator(Protocol):
    """Move a stack's state from ``org/old_project/stack`` to ``org/new_project/stack``.

    Errors are the StackError subtree (StackNotFound, StackConflict, StackUnavailable).
    """

    def export_stack(self, project: str, stack: str, destination: str) -> None:
        """Write the stack's state as a checkpoint file to ``destination`` (a backup)."""
        ...

    def rename_stack(self, old_project: str, new_project: str, stack: str) -> None:
        """Rename the stack into ``new_project``; its history and secrets stay with it."""
        ...

    def stack_exists(self, project: str, stack: str) -> bool:
        """True when the backend holds ``project/stack`` (so a rename already ran or is due)."""
        ...
