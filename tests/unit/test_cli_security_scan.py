"""`orchestra-ops security scan` refuses what it cannot honour before any scanner runs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orchestra_cli.app import app


def test_a_missing_policy_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """--policy naming no file is exit 2 with the path, never the built-in policy."""
    (tmp_path / "requirements.txt").write_text("requests==2.20.0\n")
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["security", "scan", str(tmp_path), "--policy", "missing.yaml", "--out-dir", str(out)]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"security scan: policy file {tmp_path / 'missing.yaml'} does not exist"
    )
    assert not out.exists()  # nothing was scanned


def test_the_exit_codes_are_in_the_help() -> None:
    result = CliRunner().invoke(app, ["security", "scan", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "0 the policy gate passed, 1 it failed" in text
    assert "2 the scan could not run" in text
