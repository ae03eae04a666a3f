"""PulumiEngine for real: the Pulumi CLI, inline programs, the dynamic providers, the emulator.

Each test runs the shared and backend programs through the Automation API on a file
backend in a temp directory (passphrase secrets provider) against the Lambda Cloud
emulator (no boot delay), and looks at what the emulator holds afterwards. The CLI is
``pulumi`` on PATH or the one ``make pulumi`` built; without either the tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi.cli import PulumiCli, provider_environment
from orchestra_ops.adapters.pulumi.engine import PulumiEngine
from orchestra_ops.domain.lambda_cloud import InstanceStatus
from orchestra_ops.errors import ConfigError, StackConflict, StackError, StackNotFound
from orchestra_ops.ports.stack_engine import StackEvent, StackOutput
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import LambdaCloudSettings, PulumiSettings
from tests.adapters.pulumi.test_engine import dead_pid, plant_lock
from tests.adapters.pulumi.test_passphrase import OTHER_SALT
from tests.pulumi_cli import CLI, needs_pulumi_cli, shown_secret

API_KEY = "canary-lambda-key-3c9d"
PASSPHRASE = "canary-passphrase-8e21"
SECRET_VALUE = "canary-secret-config-5b7a"
INFRA = Path(__file__).resolve().parents[3] / "infrastructure" / "pulumi"

pytestmark = [
    pytest.mark.pulumi_cli,
    pytest.mark.slow,
    needs_pulumi_cli,
]


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaCloudClient]:
    """The emulator, and the environment the providers read their key and URL from."""
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    emulator = LambdaCloudEmulator(api_key=API_KEY, boot_delay_s=0.0)
    with serve_in_thread(emulator.app()) as served:
        monkeypatch.setenv("LAMBDA_LABS_API_KEY", API_KEY)
        monkeypatch.setenv("LAMBDA_LABS_API_URL", served.url)
        with LambdaCloudClient(served.url, SecretStr(API_KEY)) as client:
            yield client
    emulator.close()


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    """Copies of the shared and backend projects (the engine writes stack files there)."""
    for name in ("shared", "backend"):
        shutil.copytree(INFRA / name, tmp_path / "pulumi" / name)
    return tmp_path / "pulumi"


def passphrase_settings() -> PulumiSettings:
    return PulumiSettings(_env_file=None, config_passphrase=SecretStr(PASSPHRASE))  # type: ignore[call-arg]


def engine_for(
    state_dir: Path, cli: PulumiCli | None = None, provider_env: dict[str, str] | None = None
) -> PulumiEngine:
    return PulumiEngine(passphrase_settings(), state_dir, cli=cli, provider_env=provider_env)


def live(api: LambdaCloudClient) -> list[str]:
    return sorted(i.id for i in api.list_instances() if i.status is not InstanceStatus.TERMINATED)


def test_shared_and_backend_stacks_up_preview_refresh_destroy(
    tmp_path: Path, projects: Path, lambda_api: LambdaCloudClient
) -> None:
    engine = engine_for(tmp_path / "state")
    shared = engine.select_or_create(projects / "shared", "dev")
    events: list[StackEvent] = []
    planned = engine.preview(shared, on_event=events.append)
    assert planned.counts.get("create") == 4  # the stack, the key, the filesystem, the ruleset
    assert any(e.kind == "resource-pre" and "lambda:SshKey" in (e.urn or "") for e in events)
    assert not lambda_api.list_ssh_keys()  # a preview changes nothing

    out = engine.up(shared)
    (key,) = lambda_api.list_ssh_keys()
    (filesystem,) = lambda_api.list_filesystems()
    (ruleset,) = [r for r in lambda_api.list_firewall_rulesets() if r.name == "orchestra-dev-api"]
    assert (out["ssh_key_id"].value, out["ssh_key_name"].value) == (key.id, key.name)
    assert out["filesystem_id"].value == filesystem.id
    assert out["firewall_ruleset_id"].value == ruleset.id
    # A secret output is never decrypted by the engine; the CLI shows it.
    assert out["ssh_private_key"] == StackOutput(None, secret=True)
    private_key = shown_secret(
        passphrase_settings(), tmp_path / "state", projects / "shared", "dev", "ssh_private_key"
    )
    assert private_key and private_key not in json.dumps({k: v.value for k, v in out.items()})
    assert [r.port_range for r in ruleset.rules] == [(22, 22), (443, 443), (8000, 8000)]
    reader = engine_for(tmp_path / "state")  # what only reads selects: never creates
    assert reader.outputs(reader.select(projects / "shared", "dev")) == out
    with pytest.raises(StackNotFound):
        reader.select(projects / "shared", "prod")
    reader.check_secrets_key(reader.select(projects / "shared", "dev"))  # its passphrase opens it
    other = PulumiSettings(_env_file=None, config_passphrase=SecretStr("not-the-passphrase"))  # type: ignore[call-arg]
    stranger = PulumiEngine(other, tmp_path / "state")
    wrong = stranger.select(projects / "shared", "dev")
    with pytest.raises(StackError, match="PULUMI_CONFIG_PASSPHRASE is not the passphrase"):
        stranger.check_secrets_key(wrong)
    with pytest.raises(StackError, match="incorrect passphrase"):  # as the CLI itself finds
        stranger.preview(wrong)
    # The CLI checks the stack file's salt too: one made under another passphrase is found.
    stack_file = projects / "shared" / "Pulumi.dev.yaml"
    kept = stack_file.read_text()
    salt = next(line for line in kept.splitlines() if line.startswith("encryptionsalt: "))
    stack_file.write_text(kept.replace(salt, f"encryptionsalt: {OTHER_SALT}"))
    with pytest.raises(StackError, match=r"salt of shared/Pulumi\.dev\.yaml was made with"):
        reader.check_secrets_key(reader.select(projects / "shared", "dev"))
    with pytest.raises(StackError, match="incorrect passphrase"):
        reader.preview(reader.select(projects / "shared", "dev"))
    stack_file.write_text(kept)

    backend = engine.select_or_create(projects / "backend", "dev")
    out = engine.up(backend)
    (instance_id,) = live(lambda_api)
    assert out["instance_ids"].value == [instance_id]
    assert out["api_url"].value == "http://127.0.0.1:8000"
    launched = lambda_api.get_instance(instance_id)  # wired to the shared stack's resources
    assert launched.ssh_key_names == ("orchestra-dev",)
    assert [fs for fs in launched.file_system_names] == ["orchestra-dev-data"]
    assert engine.preview(backend).changes == 0

    lambda_api.terminate([instance_id])  # gone behind the engine's back
    assert engine.refresh(backend).counts.get("delete") == 1
    assert engine.preview(backend).counts.get("create") == 1

    engine.destroy(backend)
    assert engine.destroy(shared).counts.get("delete") == 4  # with the stack itself
    assert not live(lambda_api)
    assert not lambda_api.list_ssh_keys() and not lambda_api.list_filesystems()
    assert not [r for r in lambda_api.list_firewall_rulesets() if r.name == "orchestra-dev-api"]


def test_blue_green_colours_stale_locks_checkpoint_and_restore(
    tmp_path: Path, projects: Path, lambda_api: LambdaCloudClient
) -> None:
    engine = engine_for(tmp_path / "state")
    engine.up(engine.select_or_create(projects / "shared", "dev"))
    backend = engine.select_or_create(projects / "backend", "dev")
    blue = engine.up(backend)["instance_ids"].value
    before = engine.export(backend)

    engine.set_config(
        backend,
        {
            "orchestra-backend:colours": '["blue", "green"]',
            "orchestra-backend:active_colour": "green",
        },
    )
    state = tmp_path / "state" / "pulumi" / "state"
    held = plant_lock(state, "orchestra-backend", "dev", os.getpid(), socket.gethostname())
    with pytest.raises(StackConflict, match="another update holds the stack lock"):
        engine.up(backend)  # a live holder: refused, and its lock is left alone
    held.unlink()
    # A CLI killed with its worker leaves its lock: removed, said, and the update goes on.
    stale = plant_lock(state, "orchestra-backend", "dev", dead_pid(), socket.gethostname())
    events: list[StackEvent] = []
    out = engine.up(backend, on_event=events.append)
    assert not stale.exists()
    assert any("left by a CLI that is gone" in e.message for e in events)
    green = out["instance_ids"].value
    assert set(live(lambda_api)) == {*blue, *green} and blue != green
    assert set(out["colours"].value) == {"blue", "green"}

    engine.import_(backend, before)  # the state goes back; the cloud does not
    assert engine.outputs(backend)["instance_ids"].value == blue
    assert len(live(lambda_api)) == 2


def test_secrets_never_reach_state_checkpoints_stack_files_or_argv(
    tmp_path: Path, projects: Path, lambda_api: LambdaCloudClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API key and the passphrase travel in the environment; secret config encrypted.

    The key is not in this process's environment: the engine hands the settings it was
    given to the providers (as a `.env` read by the worker would be).
    """
    assert CLI is not None
    lambda_settings = LambdaCloudSettings(  # type: ignore[call-arg]
        _env_file=None, api_key=SecretStr(API_KEY), api_url=os.environ["LAMBDA_LABS_API_URL"]
    )
    monkeypatch.delenv("LAMBDA_LABS_API_KEY")
    monkeypatch.delenv("LAMBDA_LABS_API_URL")
    argv_log = tmp_path / "argv.log"
    shim = tmp_path / "shim" / "bin" / "pulumi"  # records every CLI call, then runs the CLI
    shim.parent.mkdir(parents=True)
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {argv_log}\nexec {CLI.executable} "$@"\n')
    shim.chmod(0o755)
    engine = engine_for(
        tmp_path / "state",
        PulumiCli(shim, "a test shim", CLI.launcher_dir),
        provider_environment(lambda_settings),
    )
    shared = engine.select_or_create(projects / "shared", "dev")
    engine.set_config(shared, {"orchestra-shared:unused_secret": SECRET_VALUE}, secret=True)
    engine.up(shared)
    private_key = shown_secret(
        passphrase_settings(), tmp_path / "state", projects / "shared", "dev", "ssh_private_key"
    )
    checkpoint = engine.export(shared)

    stack_file = (projects / "shared" / "Pulumi.dev.yaml").read_text()
    assert SECRET_VALUE not in stack_file and "secure: v1:" in stack_file
    texts = {"checkpoint": checkpoint, "argv": argv_log.read_text(), "stack file": stack_file}
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file() and path.name != "passphrase":
            texts[str(path)] = path.read_text(errors="replace")
    assert any("lambda:SshKey" in text for text in texts.values())
    for canary in (API_KEY, PASSPHRASE, SECRET_VALUE, private_key):
        leaks = [where for where, text in texts.items() if canary in text]
        assert leaks == [], f"{canary[:12]}... in plain text in {leaks}"
    assert "config set orchestra-shared:unused_secret --secret" in texts["argv"]


def test_a_project_without_a_program_of_ours_is_refused_before_the_cli(
    tmp_path: Path, projects: Path
) -> None:
    (projects / "shared" / "Pulumi.yaml").write_text("name: legacy-infra\nruntime: python\n")
    with pytest.raises(ConfigError, match="legacy-infra"):
        engine_for(tmp_path / "state").select_or_create(projects / "shared", "dev")
