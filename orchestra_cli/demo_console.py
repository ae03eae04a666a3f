"""The demo's console during its intended failure: error logs held back, shown if unexpected.

Run 2 of the demo breaks a release on purpose; Prefect's engine then logs the failure
with its traceback at each level (the gate task, the phase task, the roadmap flow):
about 150 lines that say what the demo already explains in one. While the run goes,
the console handlers hold back the ERROR records of Prefect's flow and task run loggers.
Afterwards the demo either says its one line (the failure was the intended one) or
replays every held record (anything else failed: that must be seen). Only the console
is filtered: the records still reach the Prefect server's run logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.logging.handlers import PrefectConsoleHandler

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class HeldErrors(logging.Filter):
    """A console filter keeping back the run loggers' ERROR records, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        """False (not printed now) for an ERROR record of a flow or task run logger."""
        if record.levelno >= logging.ERROR and record.name.startswith(RUN_LOGGERS):
            if not any(record is held for held in self.records):  # two handlers, one record
                self.records.append(record)
            return False
        return True

    @property
    def tracebacks(self) -> int:
        """How many of the held records carry a traceback."""
        return sum(1 for r in self.records if r.exc_info or r.exc_text)


def console_handlers() -> list[logging.Handler]:
    """Every Prefect console handler in the logging tree (root's, and any logger's)."""
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    found: list[logging.Handler] = []
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler) and handler not in found:
                found.append(handler)
    return found


@contextmanager
def errors_held(handlers: list[logging.Handler] | None = None) -> Iterator[HeldErrors]:
    """Hold back the run loggers' ERROR records on ``handlers`` (the console's by default)."""
    held = HeldErrors()
    targets = console_handlers() if handlers is None else handlers
    for handler in targets:
        handler.addFilter(held)
    try:
        yield held
    finally:
        for handler in targets:
            handler.removeFilter(held)


def replay(held: HeldErrors, handlers: list[logging.Handler] | None = None) -> None:
    """Print the held records after all, tracebacks included, on the first console handler."""
    targets = console_handlers() if handlers is None else handlers
    for record in held.records:
        for handler in targets[:1]:
            handler.handle(record)
