"""A StackEngine whose every method says it is not used: fakes override what they need."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from orchestra_ops.domain.pending_ops import StackState
from orchestra_ops.ports.stack_engine import (
    ChangeSummary,
    Checkpoint,
    OnEvent,
    Settlement,
    StackOutput,
    StackRef,
)


class UnusedEngine:
    """Every method of the port raises: a call the test did not expect fails it loudly."""

    def _unused(self, name: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__}.{name}: not used by this test")

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        raise self._unused("select_or_create")

    def select(self, project_dir: Path, stack: str) -> StackRef:
        raise self._unused("select")

    def set_config(self, ref: StackRef, values: Mapping[str, str], *, secret: bool = False) -> None:
        raise self._unused("set_config")

    def refresh(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        raise self._unused("refresh")

    def preview(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        raise self._unused("preview")

    def up(self, ref: StackRef, on_event: OnEvent | None = None) -> Mapping[str, StackOutput]:
        raise self._unused("up")

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        raise self._unused("outputs")

    def export(self, ref: StackRef) -> Checkpoint:
        raise self._unused("export")

    def state(self, ref: StackRef) -> StackState:
        raise self._unused("state")

    def remove(self, ref: StackRef) -> None:
        raise self._unused("remove")

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        raise self._unused("import_")

    def destroy(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        raise self._unused("destroy")

    def cancel(self, ref: StackRef) -> None:
        raise self._unused("cancel")

    def settle_pending(
        self, ref: StackRef, on_event: OnEvent | None = None, *, dry_run: bool = False
    ) -> Settlement:
        raise self._unused("settle_pending")

    def check_secrets_key(self, ref: StackRef) -> None:
        raise self._unused("check_secrets_key")
