"""The notifier port: tell people how a run ended, without ever failing the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from orchestra_ops.domain.notifications import Notice


@dataclass(frozen=True)
class Delivery:
    """How sending one notice ended; ``reason`` never holds the URL."""

    delivered: bool
    reason: str
    attempts: int = 1


class Notifier(Protocol):
    """Sends notices; ``send`` returns a Delivery and never raises."""

    def send(self, notice: Notice) -> Delivery:
        """Deliver ``notice`` (a bounded number of attempts)."""
        ...
