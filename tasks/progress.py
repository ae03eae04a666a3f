"""A progress artifact for a long step of the current run (a build, a stack update).

The Prefect UI shows it on the run's Artifacts tab and moves its bar as the step goes.
Updates are sent only when the figure or the text changes; outside a run (a task's
``.fn`` called directly) nothing is published.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import FlowRunContext, TaskRunContext


class Progress:
    """One progress artifact: created at 0 with ``description``, moved by :meth:`show`."""

    def __init__(self, description: str) -> None:
        self._shown: tuple[float, str] = (0.0, description)
        self._id: UUID | None = None
        if TaskRunContext.get() is not None or FlowRunContext.get() is not None:
            # From sync code Prefect's dispatch returns the id itself, not a coroutine.
            self._id = cast(UUID, create_progress_artifact(0.0, description=description))

    def show(self, percent: float, description: str) -> None:
        """Move the bar to ``percent`` (0-100) and say where the step is."""
        if self._id is None or (percent, description) == self._shown:
            return
        self._shown = (percent, description)
        update_progress_artifact(self._id, percent, description=description)
