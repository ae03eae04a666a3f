"""The prober port: one HTTP probe of a URL, never raising."""

from __future__ import annotations

from typing import Protocol

from orchestra_ops.domain.health import ProbeResult


class Prober(Protocol):
    """Probes URLs; a failure to connect is a ProbeResult without a status."""

    def probe(self, url: str, marker: str | None = None) -> ProbeResult:
        """GET ``url`` and judge nothing: status, latency, body digest, marker seen."""
        ...
