"""Prefect reads ./.env in every process: a bad one is one line from the command, not
hundreds of Prefect's warnings, and never its text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CANARY = "tok_CANARY_env"
COMMANDS = [
    ["doctor", "--env-file", "good.env"],
    ["recover", "--no-runs", "--dry-run", "--env-file", "good.env"],
    ["trigger", "x/y"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_bad_dotenv_in_the_working_directory_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / ".env").write_text(f'garbage {CANARY}\nPREFECT_API_URL="unclosed\n')
    (tmp_path / "good.env").write_text("VERCEL_TOKEN=x\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PREFECT_API_URL": "http://127.0.0.1:9/api",
    }
    run = subprocess.run(
        [sys.executable, "-m", "orchestra_cli", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    (line,) = (run.stdout + run.stderr).splitlines()
    assert ".env: lines 1, 2 cannot be parsed" in line and "Prefect reads ./.env too" in line
    assert CANARY not in line
