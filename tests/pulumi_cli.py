"""The Pulumi CLI the engine tests run, and the mark that skips them (saying why) without it."""

from __future__ import annotations

import pytest

from orchestra_ops.adapters.pulumi_engine import find_cli

CLI = find_cli()

#: On a test or module: needs the CLI with its dynamic-provider launcher.
needs_pulumi_cli = pytest.mark.skipif(
    CLI is None or CLI.launcher_dir is None,
    reason="the Pulumi CLI is neither on PATH nor in the `make pulumi` cache (no package "
    "registry ships it; `make pulumi` builds it)",
)
