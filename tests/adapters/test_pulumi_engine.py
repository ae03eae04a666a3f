"""The Pulumi engine adapter: what works without the CLI, and the CLI tests (skipped here)."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pulumi.automation as auto
import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.pulumi_engine import (
    PulumiEngine,
    choose_backend,
    to_stack_event,
    translated,
)
from orchestra_ops.errors import StackConflict, StackError, StackNotFound, ToolMissing
from orchestra_ops.ports.stack_engine import ChangeSummary, StackOutput, StackRef
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import PulumiSettings

CANARY = "canary-pulumi-secret-51ab"
NO_CLI = shutil.which("pulumi") is None
needs_cli = pytest.mark.skipif(
    NO_CLI, reason="the Pulumi CLI is not on PATH (no package registry ships it)"
)
INFRA = Path(__file__).resolve().parents[2] / "infrastructure" / "pulumi"


def settings(**values: object) -> PulumiSettings:
    return PulumiSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


# --- without the CLI ------------------------------------------------------------------------


def test_missing_cli_raises_tool_missing_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    state_dir = tmp_path / "state"
    with pytest.raises(ToolMissing) as info:
        PulumiEngine(settings(), state_dir)
    message = str(info.value)
    assert "Pulumi CLI" in message and "get.pulumi.com" in message
    assert "No package registry ships the Pulumi CLI" in info.value.install_hint
    assert info.value.tool.startswith("pulumi")
    assert not state_dir.exists()  # no backend directory, no passphrase file


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


# --- with the CLI (skipped on machines without it) ------------------------------------------


def copy_project(name: str, into: Path) -> Path:
    """A copy of an infrastructure project (the engine writes stack files next to it)."""
    target = into / name
    shutil.copytree(INFRA / name, target)
    venv = Path(__file__).resolve().parents[2] / ".venv"
    meta = (target / "Pulumi.yaml").read_text().replace("../../../.venv", str(venv))
    (target / "Pulumi.yaml").write_text(meta)
    return target


@pytest.fixture
def lambda_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    emulator = LambdaCloudEmulator(api_key=CANARY)
    with serve_in_thread(emulator.app()) as api:
        monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
        monkeypatch.setenv("LAMBDA_LABS_API_URL", api.url)
        yield
    emulator.close()


@pytest.mark.pulumi_cli
@needs_cli
def test_preview_up_export_import_destroy_of_the_shared_stack(
    tmp_path: Path, clean_env: None, lambda_sandbox: None
) -> None:
    engine = PulumiEngine(settings(), tmp_path / "state")
    ref = engine.select_or_create(copy_project("shared", tmp_path), "dev")
    events: list[str] = []
    assert engine.preview(ref, on_event=lambda e: events.append(e.kind)).changes >= 1
    outputs = engine.up(ref)
    assert outputs["region"].value == "us-west-1"
    assert engine.last_checkpoint is not None and engine.last_checkpoint.exists()
    checkpoint = engine.export(ref)
    assert json.loads(checkpoint)["version"] >= 3
    engine.import_(ref, checkpoint)
    assert "resource-pre" in events
    assert engine.destroy(ref).counts.get("delete", 0) >= 1


@pytest.mark.pulumi_cli
@needs_cli
def test_secret_config_is_encrypted_in_the_stack_file(tmp_path: Path, clean_env: None) -> None:
    engine = PulumiEngine(settings(), tmp_path / "state")
    project = copy_project("backend", tmp_path)
    ref = engine.select_or_create(project, "dev")
    engine.set_config(ref, "orchestra-backend:image", CANARY, secret=True)
    stack_file = (project / "Pulumi.dev.yaml").read_text()
    assert CANARY not in stack_file and "secure:" in stack_file
