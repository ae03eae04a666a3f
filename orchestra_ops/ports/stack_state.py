"""The stack-state port: carrying Pulumi stack state over to a renamed project.

The reorganisation renames projects in code; the state in the backend still carries
the old names until a ``StateMigrator`` runs (``adapters/pulumi/state.py`` over the CLI;
the sequence is ``tasks/state_migration.py``). Without one, the apply phase ends in
``state migration pending`` and lists the CLI commands.

Directories are passed because the CLI looks for a ``Pulumi.yaml`` even for commands
given a fully qualified stack name (pulumi/pulumi#16226), and a preview runs the program.
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

    def rename_stack(
        self, old_project: str, new_project: str, stack: str, project_dir: str | None = None
    ) -> None:
        """Rename the stack into ``new_project``; its history and secrets stay with it.

        ``project_dir`` is a directory with a ``Pulumi.yaml`` to run the rename in.
        """
        ...

    def stack_exists(self, project: str, stack: str) -> bool:
        """True when the backend holds ``project/stack`` (so a rename already ran or is due)."""
        ...

    def restore_stack(
        self, project: str, stack: str, checkpoint: str, project_dir: str | None = None
    ) -> None:
        """Replace the state of the existing ``project/stack`` with the ``checkpoint`` file."""
        ...

    def verify_no_changes(self, project: str, stack: str, project_dir: str) -> None:
        """Preview the program in ``project_dir`` on ``project/stack``; StackError on any change."""
        ...
