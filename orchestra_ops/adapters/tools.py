"""Probe the external tools Orchestra Ops drives, and report their versions.

Python packages are read from their installed metadata rather than run: safety 3.8
makes network calls at start-up even for ``--version``.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata

from orchestra_ops.domain.doctor import ToolStatus

_PROBE_TIMEOUT_S = 20


def _package_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def command_version(program: str, *args: str) -> str | None:
    """Run ``program args`` and return the first line it prints, or None if it is absent."""
    path = shutil.which(program)
    if path is None:
        return None
    try:
        done = subprocess.run(
            [path, *args], capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    first_line = (done.stdout or done.stderr).strip().splitlines()
    return first_line[0] if first_line else None


def _pulumi_status() -> ToolStatus:
    """The Pulumi CLI: from PATH or the `make pulumi` cache, with its version and origin."""
    from orchestra_ops.adapters.pulumi.cli import find_cli

    cli = find_cli()
    version = None
    if cli is not None:
        found = command_version(str(cli.executable), "version")
        version = f"{found} — {cli.describe()}" if found else None
    return ToolStatus(
        "pulumi",
        version,
        "stack up/preview/refresh/destroy and state migration (tracks 2 and 4)",
        "Install the CLI with Pulumi's installer (get.pulumi.com), or build the pinned one "
        "offline from Pulumi's Go modules: `make pulumi` (needs Go).",
    )


def probe_tools() -> list[ToolStatus]:
    """Every tool the flows use, with its version or what its absence disables."""
    return [
        ToolStatus(
            "prefect",
            _package_version("prefect"),
            "every flow",
            "Install the project: `make venv`.",
        ),
        _pulumi_status(),
        ToolStatus(
            "node",
            command_version("node", "--version"),
            "frontend preflight builds (track 1) and npm audit (track 3)",
            "Install Node.js 20 (Debian: `apt-get install nodejs`).",
        ),
        ToolStatus(
            "npm",
            command_version("npm", "--version"),
            "frontend preflight builds (track 1) and npm audit (track 3)",
            "Install npm (Debian: `apt-get install npm`).",
        ),
        ToolStatus(
            "pip-audit",
            _package_version("pip-audit"),
            "Python vulnerability scanning with pip-audit (track 3)",
            "Install the project: `make venv`.",
        ),
        ToolStatus(
            "safety",
            _package_version("safety"),
            "Python vulnerability scanning with safety (track 3)",
            "Install the project: `make venv`.",
        ),
    ]
