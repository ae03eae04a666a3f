"""The scanner port: every applicable vulnerability scanner over one repository.

``adapters/scanners/run.py`` implements it with pip-audit, safety and npm audit as
subprocesses plus OSV severities; ``wiring.Clients.scanner`` builds it. The scan service
(``security_scan.py``) gates, reports and trends whatever result it returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from orchestra_ops.domain.security.scan import ScanResult


class Scanner(Protocol):
    """Scan a repository's manifests and merge every tool's findings into one result.

    A tool failing on a manifest is a ``ToolFailure`` in the result, not an exception:
    the gate fails on it. Errors that stop the whole scan are the ScanError subtree.
    """

    def scan(self, repo: Path, *, max_concurrency: int = 4) -> ScanResult:
        """Every manifest of ``repo`` audited, at most ``max_concurrency`` tool runs at once."""
        ...
