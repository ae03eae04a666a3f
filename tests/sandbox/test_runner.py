"""The whole sandbox: in-process for tests, and as `orchestra-ops sandbox` for people."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestra_cli.app import app
from orchestra_ops.errors import ConfigError
from orchestra_ops.sandbox.runner import SANDBOX_STACKS, Endpoints, Sandbox, worker_env_text
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tests import loopback

REQUIRED_KEYS = {
    "vercel_api_url",
    "vercel_token",
    "lambda_api_url",
    "lambda_api_key",
    "osv_api_url",
    "npm_registry_url",
    "admin_url",
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Endpoints]]:
    runner = Sandbox(tmp_path_factory.mktemp("state"))
    with runner as endpoints:
        yield runner, endpoints


def test_adapters_built_from_sandbox_settings_reach_the_emulators(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoints' environment is all the composition root needs."""
    runner, endpoints = sandbox
    for name, value in endpoints.as_environment().items():
        monkeypatch.setenv(name, value)
    with build(load_settings(env_file=None)) as clients:
        project = clients.vercel().create_project("orchestra-admin")
        assert [p.name for p in clients.vercel().list_projects()] == ["orchestra-admin"]
        assert project.id.startswith("prj_")
        assert "gpu_1x_a10" in clients.lambda_cloud().instance_types()
    assert all(query == runner.vercel.state.team_id for *_, query in runner.vercel.team_queries)


def test_feeds_and_admin_answer(sandbox: tuple[Sandbox, Endpoints]) -> None:
    """OSV, npm registry, safety stub and the admin endpoint are all up."""
    _, endpoints = sandbox
    assert loopback.get(f"{endpoints.osv_api_url}/v1/vulns/PYSEC-2018-28").status_code == 200
    assert loopback.get(f"{endpoints.npm_registry_url}/lodash").json()["name"] == "lodash"
    openid = f"{endpoints.safety_auth_server_url}/.well-known/openid-configuration"
    assert loopback.get(openid).status_code == 200
    assert (Path(endpoints.safety_db_dir) / "insecure.json").exists()
    requests = loopback.get(f"{endpoints.admin_url}/vercel/requests").json()
    assert all({"method", "path", "status"} <= set(entry) for entry in requests)


def test_missing_credentials_name_the_variable(tmp_path: Path) -> None:
    """Asking for a client without its credential says which variable to set."""
    with build(load_settings(env_file=None)) as clients, pytest.raises(ConfigError) as caught:
        clients.lambda_cloud()
    assert "LAMBDA_LABS_API_KEY is not set" in str(caught.value)


def _sourced(env_file: Path) -> dict[str, str]:
    """The environment a shell has after sourcing ``env_file`` (from an empty one)."""
    done = subprocess.run(
        ["bash", "-c", f". {env_file} && env -0"],
        env={},
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
    return {name: value for name, value in pairs if name not in ("PWD", "SHLVL", "_")}


def test_the_worker_env_file_sources_to_exactly_the_sandbox_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sourced by a shell, the file gives the endpoints' settings and the file-backend
    stacks, quoting intact (a path with a space and a quote)."""
    odd = str(tmp_path / "it's a dir")
    fields = {name: f"http://127.0.0.1:1/{name}" for name in Endpoints.__dataclass_fields__}
    endpoints = Endpoints(**{**fields, "safety_db_dir": odd, "vercel_token": "tok en"})
    env_file = tmp_path / "sandbox.env"
    here = tmp_path / "checkout"
    here.mkdir()
    monkeypatch.chdir(here)  # a relative state dir is written absolute (runs use clones)
    env_file.write_text(worker_env_text(endpoints, Path(".orchestra-ops")))
    state = str(here / ".orchestra-ops")
    expected = {**endpoints.as_environment(), **SANDBOX_STACKS, "ORCHESTRA_STATE_DIR": state}
    assert _sourced(env_file) == expected
    assert _sourced(env_file)["ORCHESTRA_SAFETY_DB_DIR"] == odd


def test_the_command_writes_endpoints_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """`orchestra-ops sandbox` serves until SIGTERM, then removes its endpoints file and the
    worker's env file, which settings read as the sandbox's."""
    endpoints_file = tmp_path / "endpoints.json"
    worker_env = tmp_path / "endpoints.env"
    env = {**os.environ, "ORCHESTRA_STATE_DIR": str(tmp_path / "state")}
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestra_cli", "sandbox", "--endpoints-file", str(endpoints_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not endpoints_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "sandbox did not write its endpoints file"
            time.sleep(0.1)
        endpoints = json.loads(endpoints_file.read_text())
        assert REQUIRED_KEYS <= set(endpoints)
        assert all(
            url.startswith("http://127.0.0.1:")
            for key, url in endpoints.items()
            if key.endswith("_url")
        )
        assert oct(endpoints_file.stat().st_mode & 0o777) == "0o600"
        assert oct(worker_env.stat().st_mode & 0o777) == "0o600"  # it holds the tokens
        settings = load_settings(env_file=worker_env)
        assert settings.lambda_cloud.api_url == endpoints["lambda_api_url"]
        assert settings.scan.osv_api_url == endpoints["osv_api_url"]
        assert settings.pulumi.access_token is None  # stacks never go to a Pulumi account
        lambda_api = f"{endpoints['lambda_api_url']}/api/v1/instances"
        answer = loopback.get(
            lambda_api, headers={"Authorization": f"Bearer {endpoints['lambda_api_key']}"}
        )
        assert answer.json() == {"data": []}
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "sandbox stopped" in stdout
    assert not endpoints_file.exists() and not worker_env.exists()


@pytest.mark.parametrize("where", ["under-a-file", "a-directory"])
def test_an_unwritable_endpoints_file_is_one_line_before_any_server_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Exit 2 with one line naming the file and why; the sandbox never started (its state
    directory, made first thing on start, does not exist)."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    target = blocker / "endpoints.json" if where == "under-a-file" else tmp_path
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(
        app, ["sandbox", "--endpoints-file", str(target), "--env-file", "/dev/null"]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"sandbox: cannot write the endpoints file {target}: "), line
    assert line.endswith("Not a directory" if where == "under-a-file" else "Is a directory")
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--endpoints-file", "{tmp}/e.env"], "defaults to the endpoints file with a .env suffix"),
        (["--endpoints-file", "{tmp}/e.json", "--worker-env", "{tmp}/e.json"], "must differ"),
        (["--endpoints-file", "{tmp}/e.json", "--boot-delay", "-5"], "--boot-delay"),
    ],
)
def test_options_that_cannot_work_are_refused_before_any_server_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], complaint: str
) -> None:
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    argv = ["sandbox", *(a.format(tmp=tmp_path) for a in args), "--env-file", "/dev/null"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert complaint in result.stderr
    assert not (tmp_path / "state").exists()
