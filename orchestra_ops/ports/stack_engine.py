"""The stack-engine port: what flows need from Pulumi, in plain domain types.

Errors are the StackError subtree: StackConflict (another update holds the lock),
StackNotFound, StackUnavailable; ToolMissing when the engine (the CLI) is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NewType, Protocol, runtime_checkable

from orchestra_ops.domain.pending_ops import StackState

Checkpoint = NewType("Checkpoint", str)
"""A stack's exported state: the JSON text of ``{"version": n, "deployment": {...}}``."""


@dataclass(frozen=True)
class StackRef:
    """One stack of one project: the project directory (with Pulumi.yaml) and the stack."""

    project_dir: Path
    stack: str

    @property
    def label(self) -> str:
        """``backend/dev`` (project directory name / stack), for messages."""
        return f"{self.project_dir.name}/{self.stack}"


@dataclass(frozen=True)
class StackOutput:
    """One stack output; a secret one never shows its value in repr."""

    value: object = field(repr=False)
    secret: bool = False

    def __repr__(self) -> str:
        shown = "[secret]" if self.secret else repr(self.value)
        return f"StackOutput({shown})"


@dataclass(frozen=True)
class ChangeSummary:
    """Resource counts by operation (``create``, ``update``, ``delete``, ``same``...)."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        """How many resources an operation changes (everything but ``same``)."""
        return sum(n for op, n in self.counts.items() if op != "same")


@dataclass(frozen=True)
class StackEvent:
    """One engine event, flattened: its kind, a one-line message, and the resource if any."""

    kind: str
    message: str
    urn: str | None = None
    op: str | None = None
    severity: str | None = None


OnEvent = Callable[[StackEvent], None]


class StackEngine(Protocol):
    """Drive Pulumi stacks: configure, preview, update, refresh, export/import, destroy."""

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        """Select the stack of the project in ``project_dir``, creating it when missing."""
        ...

    def select(self, project_dir: Path, stack: str) -> StackRef:
        """Select the stack when it exists; StackNotFound when not. Nothing is created:
        what only reads (``recover``) uses this."""
        ...

    def set_config(self, ref: StackRef, values: Mapping[str, str], *, secret: bool = False) -> None:
        """Set namespaced config values (``orchestra-backend:count``); secrets encrypted."""
        ...

    def refresh(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Bring the state in line with what really exists."""
        ...

    def preview(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """What an update would change, without changing anything."""
        ...

    def up(self, ref: StackRef, on_event: OnEvent | None = None) -> Mapping[str, StackOutput]:
        """Update the stack (after exporting a checkpoint) and return its outputs."""
        ...

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        """The stack's current outputs."""
        ...

    def export(self, ref: StackRef) -> Checkpoint:
        """The stack's state as a checkpoint."""
        ...

    def state(self, ref: StackRef) -> StackState:
        """The stack's resources and pending operations (ValueError: not a checkpoint)."""
        ...

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        """Replace the stack's state with ``checkpoint`` (a rollback of state, not of cloud)."""
        ...

    def remove(self, ref: StackRef) -> None:
        """Delete the stack and its history, keeping its stack file (the caller's to put
        back); StackError when it holds resources (it is never forced)."""
        ...

    def destroy(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Delete every resource of the stack."""
        ...

    def cancel(self, ref: StackRef) -> None:
        """Cancel the update running on the stack and release its lock."""
        ...


@dataclass
class Settlement:
    """What settling one stack's pending operations decided (one line each) and did."""

    stack: str
    dry_run: bool = False
    decided: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)

    @property
    def found(self) -> int:
        """How many decisions there were (0: nothing was pending)."""
        return len(self.decided)


@runtime_checkable
class SettlesPending(StackEngine, Protocol):
    """An engine that can settle what a killed update left pending (the Pulumi CLI's)."""

    def settle_pending(
        self, ref: StackRef, on_event: OnEvent | None = None, *, dry_run: bool = False
    ) -> Settlement:
        """Adopt or terminate what pending creates made, clear the pending operations."""
        ...

    def check_secrets_key(self, ref: StackRef) -> None:
        """StackError when the engine's key does not open the stack's secrets (so every
        update would fail); checked without decrypting any of them."""
        ...
