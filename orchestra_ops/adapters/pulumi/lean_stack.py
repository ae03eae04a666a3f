"""The Automation API stack this adapter uses: one CLI call after an update, not three,
and outputs read from checkpoint JSON whose secrets stay encrypted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pulumi.automation as auto
from pulumi.automation._stack import StackInitMode  # not re-exported by pulumi.automation

from orchestra_ops.adapters.pulumi.checkpoint import read_state
from orchestra_ops.adapters.pulumi.cli_output import to_stack_event
from orchestra_ops.errors import StackError
from orchestra_ops.ports.stack_engine import OnEvent

#: The key and value that mark an encrypted secret in checkpoint JSON.
_SIGNATURE = "4dabf18193072939515e22adb298388d"
_SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (a type tag, not a secret)


class LeanStack(auto.Stack):
    """An Automation API stack that makes one CLI call after an update instead of three.

    The SDK follows ``up``, ``refresh`` and ``destroy`` with ``stack output --json`` twice
    (masked, then with secrets shown) and ``stack history``, each a CLI start of at least
    0.3 s of CPU. Here the change counts come from the operation's own summary event
    (:meth:`listen`), and the outputs from one ``stack export`` in which secret values stay
    encrypted: this process never decrypts a secret output.
    """

    def __init__(self, name: str, workspace: auto.LocalWorkspace, *, create: bool) -> None:
        mode = StackInitMode.CREATE_OR_SELECT if create else StackInitMode.SELECT
        super().__init__(name, workspace, mode)
        self._changes: dict[auto.OpType, int] | None = None

    def listen(self, on_event: OnEvent | None) -> Callable[[auto.EngineEvent], None]:
        """The event handler for one operation: it keeps the summary's change counts and
        hands every event on, as a StackEvent, to ``on_event``."""
        self._changes = None

        def handle(event: auto.EngineEvent) -> None:
            if event.summary_event is not None:
                self._changes = dict(event.summary_event.resource_changes)
            if on_event is not None:
                on_event(to_stack_event(event))

        return handle

    def export_text(self) -> str:
        """``stack export`` without ``--show-secrets``: checkpoint JSON, secrets encrypted."""
        return str(self._run_pulumi_cmd_sync(["stack", "export"]).stdout)

    def outputs(self) -> auto.OutputMap:
        """The outputs, read from one export; a secret one's value is not decrypted (None)."""
        return {
            name: auto.OutputValue(value=None if secret else value, secret=secret)
            for name, (value, secret) in outputs_of(self.export_text(), self.name).items()
        }

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        """The last operation's change counts, from its summary event (``stack history``
        only when no summary event came). This adapter reads nothing else of it."""
        if self._changes is None:
            return super().info(show_secrets)
        now = dt.datetime.now(dt.UTC)
        return auto.UpdateSummary(
            kind="update",
            start_time=now,
            message="",
            environment={},
            config={},
            result="succeeded",
            end_time=now,
            resource_changes=self._changes,
        )


def outputs_of(checkpoint: str, stack: str) -> dict[str, tuple[object, bool]]:
    """The root stack's outputs in checkpoint JSON: name -> (value, secret)."""
    try:
        resources = read_state(checkpoint).resources
    except ValueError as error:
        raise StackError(
            f"outputs of stack {stack}: its export is not a checkpoint ({error})"
        ) from error
    root = next((r for r in resources if r.get("type") == "pulumi:pulumi:Stack"), {})
    return {
        name: (value, _holds_secret(value)) for name, value in (root.get("outputs") or {}).items()
    }


def _holds_secret(value: object) -> bool:
    if isinstance(value, dict):
        return value.get(_SIGNATURE) == _SECRET_SIGNATURE or any(map(_holds_secret, value.values()))
    if isinstance(value, list):
        return any(map(_holds_secret, value))
    return False
