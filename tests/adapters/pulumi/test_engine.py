"""The Pulumi engine adapter without running the CLI: finding it, backends, errors, events.

The engine against the real CLI and the Lambda emulator: test_pulumi_engine_real.py.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pulumi.automation as auto
import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.pulumi.backend import choose_backend
from orchestra_ops.adapters.pulumi.cli import (
    LAUNCHER,
    OFFLINE_ENV,
    PulumiCli,
    cache_bin_dir,
    find_cli,
    provider_environment,
    tool_env,
)
from orchestra_ops.adapters.pulumi.cli_output import to_stack_event, translated
from orchestra_ops.adapters.pulumi.engine import PulumiEngine
from orchestra_ops.adapters.pulumi.locks import stale_locks
from orchestra_ops.errors import StackConflict, StackError, StackNotFound, ToolMissing
from orchestra_ops.ports.stack_engine import ChangeSummary, StackOutput, StackRef
from orchestra_ops.settings import LambdaCloudSettings, PulumiSettings

CANARY = "canary-pulumi-secret-51ab"
PINNED = (Path(__file__).resolve().parents[3] / "tools" / "pulumi-cli.version").read_text().strip()


def settings(**values: object) -> PulumiSettings:
    return PulumiSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


def executable(path: Path, body: str = "#!/bin/sh\necho v3.274.1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(0o755)
    return path


# --- finding the CLI ------------------------------------------------------------------------


def test_missing_cli_raises_tool_missing_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "empty-cache"))
    state_dir = tmp_path / "state"
    with pytest.raises(ToolMissing) as info:
        PulumiEngine(settings(), state_dir)
    message = str(info.value)
    assert "Pulumi CLI" in message and "get.pulumi.com" in message
    assert "No package registry ships the Pulumi CLI" in info.value.install_hint
    assert "make pulumi" in info.value.install_hint
    assert info.value.tool.startswith("pulumi")
    assert not state_dir.exists()  # no backend directory, no passphrase file


def test_the_cli_on_path_wins_over_the_make_pulumi_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cached = executable(cache / f"v{PINNED}" / "bin" / "pulumi")
    executable(cached.parent / LAUNCHER)
    on_path = executable(tmp_path / "bin" / "pulumi")
    env = {"PATH": str(on_path.parent), "ORCHESTRA_PULUMI_CACHE": str(cache)}
    found = find_cli(env)
    assert found == PulumiCli(on_path, "PATH", cached.parent)  # its launcher from the cache
    assert "(from PATH)" in found.describe() and LAUNCHER in found.describe()

    found = find_cli({**env, "PATH": str(tmp_path / "empty-bin")})
    assert found is not None and found.executable == cached
    assert found.origin == f"the `make pulumi` cache {cached.parent}"
    assert found.launcher_dir == cached.parent
    assert find_cli({"PATH": "", "ORCHESTRA_PULUMI_CACHE": str(tmp_path / "none")}) is None


def test_a_launcher_next_to_the_cli_comes_first_and_its_absence_is_said(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "bin" / "pulumi")
    elsewhere = executable(tmp_path / "other" / LAUNCHER)
    env = {"PATH": f"{on_path.parent}:{elsewhere.parent}", "ORCHESTRA_PULUMI_CACHE": "/none"}
    assert find_cli(env) == PulumiCli(on_path, "PATH", elsewhere.parent)
    executable(on_path.parent / LAUNCHER)
    assert find_cli(env) == PulumiCli(on_path, "PATH", on_path.parent)
    lonely = PulumiCli(on_path, "PATH", None)
    assert "dynamic providers cannot run" in lonely.describe()


def test_the_cache_follows_build_pulumi_sh(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert cache_bin_dir(home) == tmp_path / f".cache/orchestra-ops/pulumi/v{PINNED}/bin"
    xdg = {**home, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache_bin_dir(xdg) == tmp_path / f"xdg/orchestra-ops/pulumi/v{PINNED}/bin"
    pinned = {**xdg, "ORCHESTRA_PULUMI_CLI_VERSION": "v3.300.0", "ORCHESTRA_PULUMI_CACHE": "/c"}
    assert cache_bin_dir(pinned) == Path("/c/v3.300.0/bin")


def test_the_tool_environment_is_offline_and_runs_this_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    cli = PulumiCli(tmp_path / "cli" / "pulumi", "PATH", tmp_path / "launcher")
    env = tool_env(cli)
    assert env["PULUMI_PYTHON"] == sys.executable
    assert OFFLINE_ENV.items() <= env.items()
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    path = env["PATH"].split(os.pathsep)
    assert path[:3] == [
        str(tmp_path / "cli"),
        str(tmp_path / "launcher"),
        str(Path(sys.executable).parent),
    ]
    assert path[-2:] == ["/usr/bin", "/bin"]
    assert not any(k in env for k in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"))


# --- backends, errors, events ---------------------------------------------------------------


def test_default_backend_is_a_file_backend_with_a_private_generated_passphrase(
    tmp_path: Path, clean_env: None
) -> None:
    backend = choose_backend(settings(), tmp_path)
    assert backend.url is not None and backend.url.startswith("file://")
    assert Path(backend.url.removeprefix("file://")).is_dir()
    assert backend.secrets_provider == "passphrase"
    passphrase_file = tmp_path / "pulumi" / "passphrase"
    assert stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    generated = backend.env["PULUMI_CONFIG_PASSPHRASE"]
    assert len(generated) >= 32
    assert choose_backend(settings(), tmp_path).env["PULUMI_CONFIG_PASSPHRASE"] == generated
    assert generated not in repr(backend)


def _generated_passphrase(state_dir: Path) -> str:
    return choose_backend(PulumiSettings(_env_file=None), state_dir).env["PULUMI_CONFIG_PASSPHRASE"]


def test_workers_starting_together_on_a_fresh_state_dir_share_one_passphrase(
    tmp_path: Path, clean_env: None
) -> None:
    """Sixteen processes race to make the passphrase: one file, whole, the same for all."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(8) as pool:
        seen = pool.map(_generated_passphrase, [tmp_path] * 16)
    assert len(set(seen)) == 1 and len(seen[0]) >= 32
    assert sorted(p.name for p in (tmp_path / "pulumi").iterdir()) == ["passphrase", "state"]


def test_configured_passphrase_and_backend_url_win(tmp_path: Path, clean_env: None) -> None:
    backend = choose_backend(
        settings(config_passphrase=SecretStr(CANARY), backend_url="s3://bucket/state"), tmp_path
    )
    assert backend.url == "s3://bucket/state"
    assert backend.env["PULUMI_CONFIG_PASSPHRASE"] == CANARY
    assert CANARY not in repr(backend)
    assert not (tmp_path / "pulumi" / "passphrase").exists()


def test_access_token_selects_pulumi_cloud(tmp_path: Path, clean_env: None) -> None:
    backend = choose_backend(settings(access_token=SecretStr(CANARY)), tmp_path)
    assert backend.url is None and backend.secrets_provider is None
    assert backend.env == {"PULUMI_ACCESS_TOKEN": CANARY}
    assert CANARY not in repr(backend)


def _failure(kind: type[auto.CommandError], stderr: str) -> auto.CommandError:
    return kind(auto.CommandResult(stdout="", stderr=stderr, code=255))


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (_failure(auto.ConcurrentUpdateError, "[409] Conflict"), StackConflict),
        (_failure(auto.StackNotFoundError, "no stack named 'dev' found"), StackNotFound),
        (_failure(auto.CommandError, f"boom with {CANARY} inside"), StackError),
    ],
)
def test_automation_errors_are_translated_and_scrubbed(
    raised: auto.CommandError, expected: type[StackError]
) -> None:
    ref = StackRef(Path("/x/backend"), "dev")
    with pytest.raises(expected) as info:
        with translated("up", ref, lambda text: text.replace(CANARY, "***")):
            raise raised
    assert "backend/dev" in str(info.value)
    assert CANARY not in str(info.value)
    assert info.value.__cause__ is raised


def test_engine_events_are_flattened() -> None:
    diagnostic = auto.EngineEvent(
        sequence=1,
        timestamp=0,
        diagnostic_event=auto.DiagnosticEvent(message="hello\n", color="never", severity="info"),
    )
    assert to_stack_event(diagnostic).kind == "diagnostic"
    assert to_stack_event(diagnostic).message == "hello"
    meta = auto.StepEventMetadata(
        op=auto.OpType.CREATE, urn="urn:pulumi:dev::p::t::api-0", type="t", provider=""
    )
    pre = auto.EngineEvent(sequence=2, timestamp=0, resource_pre_event=auto.ResourcePreEvent(meta))
    event = to_stack_event(pre)
    assert (event.kind, event.op, event.urn) == ("resource-pre", "create", meta.urn)


def test_port_types_hide_secrets_and_count_changes() -> None:
    assert CANARY not in repr(StackOutput(CANARY, secret=True))
    assert "'x'" in repr(StackOutput("x"))
    assert ChangeSummary({"same": 3, "create": 2, "delete": 1}).changes == 3


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def plant_lock(backend: Path, project: str, stack: str, pid: int, host: str) -> Path:
    folder = backend / ".pulumi" / "locks" / "organization" / project / stack
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f"{pid}-{host}.json"
    lock.write_text(json.dumps({"pid": pid, "username": "u", "hostname": host}))
    return lock


def test_only_locks_of_dead_cli_processes_on_this_host_are_stale(tmp_path: Path) -> None:
    url, here = tmp_path.as_uri(), socket.gethostname()
    dead = plant_lock(tmp_path, "orchestra-backend", "dev", dead_pid(), here)
    assert stale_locks(url, "orchestra-backend", "dev") == [dead]
    assert stale_locks(url, "orchestra-backend", "organization/orchestra-backend/dev") == [dead]
    assert stale_locks(url, "orchestra-shared", "dev") == []
    assert stale_locks("s3://bucket", "orchestra-backend", "dev") == []
    assert stale_locks(None, "orchestra-backend", "dev") == []
    live = plant_lock(tmp_path, "orchestra-backend", "dev", os.getpid(), here)
    assert stale_locks(url, "orchestra-backend", "dev") == []  # all of them, or none
    live.unlink()
    plant_lock(tmp_path, "orchestra-backend", "dev", dead_pid(), "another-host")
    assert stale_locks(url, "orchestra-backend", "dev") == []


def test_provider_settings_reach_the_workspace_and_are_scrubbed(
    tmp_path: Path, clean_env: None
) -> None:
    lambda_cloud = LambdaCloudSettings(  # type: ignore[call-arg]
        _env_file=None, api_key=SecretStr(CANARY), api_url="http://127.0.0.1:9"
    )
    env = provider_environment(lambda_cloud)
    assert env == {
        "LAMBDA_LABS_API_URL": "http://127.0.0.1:9",
        "LAMBDA_LABS_TIMEOUT_S": str(lambda_cloud.timeout_s),
        "LAMBDA_LABS_API_KEY": CANARY,
    }
    keyless = LambdaCloudSettings(_env_file=None)  # type: ignore[call-arg]
    assert "LAMBDA_LABS_API_KEY" not in provider_environment(keyless)
    cli = PulumiCli(tmp_path / "pulumi", "a test")
    engine = PulumiEngine(settings(), tmp_path / "state", cli=cli, provider_env=env)
    ref = StackRef(tmp_path / "backend", "dev")
    with pytest.raises(StackError) as info:
        with translated("up", ref, engine._scrub):
            raise _failure(auto.CommandError, f"401 for {CANARY} at http://127.0.0.1:9")
    assert CANARY not in str(info.value) and "http://127.0.0.1:9" in str(info.value)
    assert CANARY not in repr(engine)


def test_selecting_on_a_fresh_state_directory_finds_no_stack_and_writes_nothing(
    tmp_path: Path, clean_env: None
) -> None:
    """What only reads (recover) selects: no backend directory, passphrase or stack is made
    (the CLI is not even started: this one does not exist)."""
    cli = PulumiCli(tmp_path / "no-such-pulumi", "a test")
    engine = PulumiEngine(settings(), tmp_path / "state", cli=cli)
    with pytest.raises(StackNotFound, match="backend/dev: no stack state in file://"):
        engine.select(tmp_path / "backend", "dev")
    assert not (tmp_path / "state").exists()


def test_a_failed_update_is_reported_by_its_error_lines_not_the_output_tail() -> None:
    """The engine's error lines make the message; a summary after them does not hide them."""
    from orchestra_ops.adapters.pulumi.cli_output import essence

    output = (
        "\n code: 255\n stdout: Updating (dev):\n    pulumi:pulumi:Stack backend-dev running\n"
        " error: update failed\n    lambda:Instance api-green-0 **creating failed** error: "
        "LambdaUnavailable: no answer\nResources:\n    9 unchanged\n\nDuration: 3s\n stderr: \n"
    )
    assert essence(output) == (
        "error: update failed | lambda:Instance api-green-0 **creating failed** error: "
        "LambdaUnavailable: no answer"
    )
    assert essence("\n exit 1 without words \n") == "exit 1 without words"


@pytest.mark.parametrize("variable_set", [False, True])
def test_a_wrong_passphrase_names_the_variable_or_the_generated_file(
    tmp_path: Path, variable_set: bool
) -> None:
    """Met by outside checks: a bare "incorrect passphrase" named neither, and then the file
    was named as ``$ORCHESTRA_STATE_DIR/pulumi/passphrase`` rather than by its path."""
    phrase = SecretStr("set-by-the-user") if variable_set else None
    settings = PulumiSettings(_env_file=None, config_passphrase=phrase)  # type: ignore[call-arg]
    backend = choose_backend(settings, tmp_path / "state")
    ref = StackRef(tmp_path, "dev")
    with pytest.raises(StackError) as info:
        with translated("up", ref, lambda text: text, backend.wrong_key_hint):
            raise _failure(auto.CommandError, "error: incorrect passphrase")
    assert "PULUMI_CONFIG_PASSPHRASE" in str(info.value)
    generated = str(tmp_path / "state" / "pulumi" / "passphrase")
    assert (generated in str(info.value)) is not variable_set, str(info.value)


def test_a_provider_traceback_is_reported_by_its_exception_not_its_frames() -> None:
    """Met by an outside check: the cause sat under a wall of traceback frames."""
    from orchestra_ops.adapters.pulumi.cli_output import essence

    output = (
        " stdout: Updating (dev):\n"
        "    lambda:Instance api-0 **creating failed** error: Exception calling application:\n"
        "    error: Traceback (most recent call last):\n"
        '      File "/app/orchestra_ops/adapters/_lambda_http.py", line 90, in _request\n'
        '        raise translate(call, status, str(error["code"]), message)\n'
        "    orchestra_ops.errors.LambdaNotFound: SSH key 'orchestra-dev' does not exist\n"
        "Resources:\n    4 unchanged\n"
    )
    assert essence(output) == (
        "lambda:Instance api-0 **creating failed** error: Exception calling application: | "
        "LambdaNotFound: SSH key 'orchestra-dev' does not exist"
    )


def test_an_error_said_three_ways_is_said_once_and_a_long_one_is_cut_at_a_word() -> None:
    """Met by an outside check: a bad config value came back three times, cut mid-word."""
    from orchestra_ops.adapters.pulumi.cli_output import essence

    cause = "ConfigError: orchestra-backend:count: 'many' is not a whole number"
    output = (
        f"\n code: 255\n stdout: Updating (dev):\n  error: {cause}\n  {cause}\n error: {cause}\n"
    )
    assert essence(output) == f"error: {cause}"
    assert essence("error: 403\nerror: 4030 quota\n") == "error: 403 | error: 4030 quota"
    assert essence("\n code: 255\n stdout: Updating (dev)\n\n stderr: \n") == (
        "code: 255 stdout: Updating (dev) stderr:"
    )
    long = essence(" ".join(f"error: word{n}" for n in range(200)))
    assert long.startswith("…error: word") and long.endswith("word199") and len(long) <= 601


def test_a_killed_cli_is_said_to_be_killed_in_one_line(tmp_path: Path) -> None:
    """Met by an outside check: "code: -9" and the update's output over several lines."""
    from orchestra_ops.adapters.pulumi.cli_output import translated

    with pytest.raises(StackError) as info:
        with translated("up", StackRef(tmp_path / "backend", "dev"), lambda text: text):
            raise auto.CommandError(auto.CommandResult("Updating (dev):\n  creating", "", -9))
    assert str(info.value) == (
        "up of backend/dev: the Pulumi CLI was killed (SIGKILL); the next update or "
        "`orchestra-ops recover` settles what it left pending"
    )


def test_outputs_are_read_from_the_root_stack_of_a_checkpoint() -> None:
    from orchestra_ops.adapters.pulumi.lean_stack import outputs_of

    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "v": "x"}
    root = {"type": "pulumi:pulumi:Stack", "outputs": {"url": "http://a", "key": secret}}
    other = {"type": "lambda:Instance", "outputs": {"url": "http://b"}}
    checkpoint = json.dumps({"version": 3, "deployment": {"resources": [other, root]}})
    assert outputs_of(checkpoint, "backend/dev") == {
        "url": ("http://a", False),
        "key": (secret, True),
    }
    assert outputs_of(json.dumps({"version": 3, "deployment": {}}), "backend/dev") == {}
    with pytest.raises(StackError, match="backend/dev: its export is not a checkpoint"):
        outputs_of("error: no stack", "backend/dev")
