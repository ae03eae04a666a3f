"""`orchestra-ops doctor`: credentials set or not (never values), tools and what they gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestra_cli.app import app
from orchestra_ops.domain.doctor import (
    CredentialStatus,
    ToolStatus,
    health_template_problem,
    org_id_warning,
    render_report,
)
from orchestra_ops.domain.redaction import safe_url

CANARY = "canary-77aa-DO-NOT-LEAK"


def test_doctor_reports_credentials_without_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Set credentials show as set; their values never reach the output."""
    monkeypatch.setenv("VERCEL_TOKEN", CANARY)
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
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

    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
    assert f"prefect      {version('prefect')}" in result.output
    assert f"safety       {version('safety')}" in result.output
    assert f"pip-audit    {version('pip-audit')}" in result.output


def test_doctor_says_what_a_missing_pulumi_disables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no pulumi on PATH nor built, doctor names what that disables and how to get it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
    assert result.exit_code == 0
    pulumi_line = next(line for line in result.output.splitlines() if "pulumi " in line)
    assert "MISSING" in pulumi_line
    assert "stack up/preview" in pulumi_line
    assert "Missing: pulumi, node, npm" in result.output
    assert "make pulumi" in pulumi_line


def test_doctor_says_where_the_pulumi_cli_comes_from(tmp_path: Path) -> None:
    """The CLI built by `make pulumi` is found without PATH, and doctor says so."""
    from orchestra_ops.adapters.pulumi.cli import find_cli

    if find_cli() is None:
        pytest.skip("no Pulumi CLI on PATH or in the make pulumi cache")
    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
    pulumi_line = next(line for line in result.output.splitlines() if "pulumi " in line)
    assert "v3." in pulumi_line and "(from " in pulumi_line


def test_doctor_fails_clearly_on_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A malformed variable stops doctor with exit 2 and the variable's name."""
    monkeypatch.setenv("VERCEL_TOKEN", f"{CANARY} with spaces")
    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
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


def _doctor(tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", "--env-file", "/dev/null"])
    return result.exit_code, result.output


def test_doctor_shows_the_urls_in_effect_never_a_credential_in_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each API URL under its variable; user:password, query strings and the webhook hidden."""
    monkeypatch.setenv("VERCEL_API_URL", f"http://ops:{CANARY}@127.0.0.1:8123/v?token={CANARY}")
    monkeypatch.setenv("LAMBDA_LABS_API_URL", "http://127.0.0.1:8124")
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", f"https://hooks.example.invalid/{CANARY}")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    code, output = _doctor(tmp_path)
    assert code == 0, output
    assert CANARY not in output
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert lines["VERCEL_API_URL"].split()[1] == "http://127.0.0.1:8123/v?…"
    assert lines["LAMBDA_LABS_API_URL"].split()[1] == "http://127.0.0.1:8124"
    assert "https://api.osv.dev  (default)" in lines["ORCHESTRA_OSV_API_URL"]
    assert "set  (a secret, never shown)" in lines["ORCHESTRA_NOTIFY_WEBHOOK_URL"]
    assert "http://127.0.0.1:4200/api" in lines["PREFECT_API_URL"]
    assert "No problem found in the settings." in output


def test_doctor_refuses_a_stack_engine_that_does_not_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An engine the wiring could not load is a problem: exit 1, the variable named."""
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", "no_such_package.engine:make")
    code, output = _doctor(tmp_path)
    assert code == 1, output
    assert "PROBLEM: ORCHESTRA_STACK_ENGINE='no_such_package.engine:make' cannot be imported" in (
        output
    )
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", "tests.doubles.program_engine")  # no :factory
    assert _doctor(tmp_path)[0] == 1
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", "json:dumps")  # callable, but no factory
    code, output = _doctor(tmp_path)
    assert code == 1 and "'json:dumps' is no engine factory" in output, output


def test_doctor_refuses_a_bad_health_url_template(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LAMBDA_LABS_HEALTH_URL_TEMPLATE", "http://{host}:{port}/health")
    code, output = _doctor(tmp_path)
    assert code == 1, output
    assert "PROBLEM: LAMBDA_LABS_HEALTH_URL_TEMPLATE uses {host}" in output


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("http://{host}:{port}/health", "uses {host}: only {instance_id}, {ip}, {port}"),
        ("http://{ip:{port}/health", "not a valid template"),
        ("http://{ip}:{port/health", "not a valid template"),
        ("{ip}:{port}/health", "does not make an http:// or https:// URL"),
        ("ftp://{ip}/health", "does not make an http:// or https:// URL"),
        ("http://10.0.0.1:8000/health", "names no instance"),
    ],
)
def test_health_template_problems(template: str, says: str) -> None:
    problem = health_template_problem(template)
    assert problem is not None and says in problem, problem


@pytest.mark.parametrize(
    "template",
    [
        "http://{ip}:{port}/health",
        "https://{ip}/api/health?port={port}",
        "http://127.0.0.1:8124/sandbox/instances/{instance_id}/health",  # the sandbox's
    ],
)
def test_good_health_templates_pass(template: str) -> None:
    assert health_template_problem(template) is None


def test_a_user_id_given_as_the_org_id_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not fatal (a personal account is valid) but said: no teamId will be sent."""
    assert org_id_warning("team_abc123") is None
    assert org_id_warning(None) is None
    monkeypatch.setenv("VERCEL_ORG_ID", "Xk2mUserId9")
    code, output = _doctor(tmp_path)
    assert code == 0, output
    warning = next(line for line in output.splitlines() if line.startswith("WARNING:"))
    assert "VERCEL_ORG_ID is not a team id" in warning
    assert "Xk2mUserId9" not in output  # a token pasted into the wrong variable stays unseen
    assert "no teamId is sent" in warning


def test_safe_url_drops_credentials_and_queries() -> None:
    assert safe_url("https://u:p@host.example:8443/a?b=c#d") == "https://host.example:8443/a?…"
    assert safe_url("file:///var/state") == "file:///var/state"
    assert safe_url("http://[::1") == "(not a URL)"


def test_doctor_shows_the_stack_state_the_engine_will_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No token, no URL: the file backend in the state dir; a token alone: Pulumi Cloud."""
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    line = next(
        s for s in _doctor(tmp_path)[1].splitlines() if s.split()[0] == "PULUMI_BACKEND_URL"
    )
    local = (tmp_path / "state" / "pulumi" / "state").resolve().as_uri()
    assert line.split()[1:] == [local, "(default)"], line
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", CANARY)
    code, output = _doctor(tmp_path)
    assert code == 0, output
    line = next(s for s in output.splitlines() if s.split()[0] == "PULUMI_BACKEND_URL")
    assert line.split()[1:] == ["https://api.pulumi.com", "(default)"], line
    assert CANARY not in output


def test_an_env_file_named_but_missing_is_refused_not_ignored(tmp_path: Path) -> None:
    """A typo in --env-file must not run on defaults; ./.env may be absent."""
    missing = tmp_path / "prod.env"
    result = CliRunner().invoke(app, ["doctor", "--env-file", str(missing)])
    assert result.exit_code == 2
    assert f"--env-file {missing}: no such file" in result.stderr


@pytest.mark.parametrize("named", ["", "."])
def test_an_env_file_that_is_a_directory_is_refused(named: str) -> None:
    """`--env-file ''` (an empty variable in a script) is the current directory to a Path."""
    result = CliRunner().invoke(app, ["doctor", "--env-file", named])
    assert result.exit_code == 2
    assert "--env-file .: a directory, not a file" in result.stderr
