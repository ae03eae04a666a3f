"""`orchestra-ops doctor`: credentials set or not (never values), tools and what they gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestra_ops.cli import app
from orchestra_ops.domain.doctor import CredentialStatus, ToolStatus, render_report

CANARY = "canary-77aa-DO-NOT-LEAK"


def test_doctor_reports_credentials_without_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Set credentials show as set; their values never reach the output."""
    monkeypatch.setenv("VERCEL_TOKEN", CANARY)
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
    result = CliRunner().invoke(app, ["doctor", "--env-file", str(tmp_path / "none.env")])
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "set    " in lines["VERCEL_TOKEN"]
    assert "not set" in lines["PULUMI_ACCESS_TOKEN"]
    for tool in ("prefect", "pulumi", "node", "npm", "pip-audit", "safety"):
        assert tool in lines, f"{tool} missing from doctor output"


def test_doctor_finds_the_installed_python_tools(tmp_path: Path) -> None:
    """prefect, pip-audit and safety come with the project: doctor shows their versions."""
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["doctor", "--env-file", str(tmp_path / "none.env")])
    assert f"prefect      {version('prefect')}" in result.output
    assert f"safety       {version('safety')}" in result.output
    assert f"pip-audit    {version('pip-audit')}" in result.output


def test_doctor_says_what_a_missing_pulumi_disables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no pulumi on PATH nor built, doctor names what that disables and how to get it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    result = CliRunner().invoke(app, ["doctor", "--env-file", str(tmp_path / "none.env")])
    assert result.exit_code == 0
    pulumi_line = next(line for line in result.output.splitlines() if "pulumi " in line)
    assert "MISSING" in pulumi_line
    assert "stack up/preview" in pulumi_line
    assert "Missing: pulumi, node, npm" in result.output
    assert "make pulumi" in pulumi_line


def test_doctor_says_where_the_pulumi_cli_comes_from(tmp_path: Path) -> None:
    """The CLI built by `make pulumi` is found without PATH, and doctor says so."""
    from orchestra_ops.adapters.pulumi_engine import find_cli

    if find_cli() is None:
        pytest.skip("no Pulumi CLI on PATH or in the make pulumi cache")
    result = CliRunner().invoke(app, ["doctor", "--env-file", str(tmp_path / "none.env")])
    pulumi_line = next(line for line in result.output.splitlines() if "pulumi " in line)
    assert "v3." in pulumi_line and "(from " in pulumi_line


def test_doctor_fails_clearly_on_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A malformed variable stops doctor with exit 2 and the variable's name."""
    monkeypatch.setenv("VERCEL_TOKEN", f"{CANARY} with spaces")
    result = CliRunner().invoke(app, ["doctor", "--env-file", str(tmp_path / "none.env")])
    assert result.exit_code == 2
    assert "VERCEL_TOKEN" in result.output
    assert CANARY not in result.output


def test_render_report_lists_every_missing_tool() -> None:
    """The report's last line sums up what is missing."""
    lines = render_report(
        [CredentialStatus("VERCEL_TOKEN", False, "track 1")],
        [
            ToolStatus("node", None, "builds", "Install node."),
            ToolStatus("npm", "11.0.0", "audit", "Install npm."),
        ],
    )
    assert lines[-1] == "Missing: node (see above for what each disables)."
    assert any("node" in line and "MISSING: disables builds" in line for line in lines)
