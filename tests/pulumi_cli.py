"""The Pulumi CLI the engine tests run, and the mark that skips them (saying why) without it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orchestra_ops.adapters.pulumi.backend import choose_backend
from orchestra_ops.adapters.pulumi.cli import find_cli, tool_env
from orchestra_ops.settings import PulumiSettings

CLI = find_cli()

#: On a test or module: needs the CLI with its dynamic-provider launcher.
needs_pulumi_cli = pytest.mark.skipif(
    CLI is None or CLI.launcher_dir is None,
    reason="the Pulumi CLI is neither on PATH nor in the `make pulumi` cache (no package "
    "registry ships it; `make pulumi` builds it)",
)


def shown_secret(
    settings: PulumiSettings, state_dir: Path, project_dir: Path, stack: str, name: str
) -> str:
    """A secret stack output in plain text, read with the CLI: the engine never decrypts one."""
    assert CLI is not None
    env = {**os.environ, **tool_env(CLI), **choose_backend(settings, state_dir).env}
    args = [str(CLI.executable), "stack", "output", name, "--show-secrets", "--stack", stack]
    done = subprocess.run(args, cwd=project_dir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
