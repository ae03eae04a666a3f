"""The stack-state adapter: ToolMissing, the commands it runs, error translation, the real CLI.

Most tests run the adapter against ``fake_pulumi``: a small script put first on PATH that
records its argv, working directory and the names of the PULUMI_* variables it got, and
keeps each stack as one file. It checks what *our* code sends and how it reads answers; it
says nothing about Pulumi's behaviour, which the ``pulumi_cli`` tests exercise with the real
CLI (on PATH or built by ``make pulumi``; skipped without it).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.pulumi.cli import find_cli
from orchestra_ops.adapters.pulumi.engine import PulumiEngine
from orchestra_ops.adapters.pulumi.state import PulumiStateMigrator
from orchestra_ops.errors import StackError, StackNotFound, StackUnavailable, ToolMissing
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import PulumiSettings

CANARY = "canary-state-secret-7f3e"
INFRA = Path(__file__).resolve().parents[3] / "infrastructure" / "pulumi"
needs_cli = pytest.mark.skipif(
    find_cli() is None,
    reason="the Pulumi CLI is neither on PATH nor in the `make pulumi` cache (no package "
    "registry ships it; `make pulumi` builds it)",
)

FAKE_PULUMI = '''#!{python} -S
"""fake_pulumi: records each call and keeps stacks as files (see the test module)."""
import json, os, sys
from pathlib import Path

state = Path(os.environ["FAKE_PULUMI_STATE"])
argv = sys.argv[1:]
args = [a for a in argv if a != "--non-interactive"]
names = sorted(k for k in os.environ if k.startswith("PULUMI_"))
with (state / "calls.jsonl").open("a") as log:
    log.write(json.dumps({{"argv": argv, "cwd": os.getcwd(), "env": names}}) + "\\n")
stacks = state / "stacks"


def opt(name):
    return args[args.index(name) + 1]


def stored(qualified):
    return stacks / qualified.replace("/", "__")


def fail(message):
    sys.stderr.write(message + "\\n")
    sys.exit(255)


def existing(qualified):
    if not stored(qualified).exists():
        fail(f"error: no stack named '{{qualified}}' found")
    return stored(qualified)


if args == ["version"]:
    print("v3.200.0")
elif args[:2] == ["stack", "ls"]:
    found = [p.name.replace("__", "/") for p in sorted(stacks.iterdir())]
    print(json.dumps([{{"name": n}} for n in found if n.split("/")[1] == opt("--project")]))
elif args[:2] == ["stack", "export"]:
    Path(opt("--file")).write_text(existing(opt("--stack")).read_text())
elif args[:2] == ["stack", "rename"]:
    source = existing(opt("--stack"))
    if stored(args[2]).exists():
        fail(f"error: stack '{{args[2]}}' already exists")
    source.rename(stored(args[2]))
elif args[:2] == ["stack", "import"]:
    existing(opt("--stack")).write_text(Path(opt("--file")).read_text())
elif args[0] == "preview":
    if os.environ.get("FAKE_PULUMI_NO_LANGUAGE_HOST"):
        fail("error: failed to load language plugin python: no language plugin "
             "'pulumi-language-python' found in the workspace or on your $PATH")
    if os.environ.get("FAKE_PULUMI_PREVIEW_CHANGES"):
        # A leaky CLI on purpose: the adapter must scrub the passphrase from the error.
        secret = os.environ.get("PULUMI_CONFIG_PASSPHRASE", "")
        fail(f"error: no changes were expected but changes were proposed (passphrase {{secret}})")
else:
    fail("fake_pulumi: unsupported call " + " ".join(args))
'''


def install_fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put ``fake_pulumi`` first on PATH as ``pulumi``; the directory holding its stacks."""
    bin_dir, state = tmp_path / "fake-bin", tmp_path / "fake-pulumi"
    bin_dir.mkdir()
    (state / "stacks").mkdir(parents=True)
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))
    return state


def seed_stack(state: Path, qualified: str, content: str) -> None:
    """A stack in the fake backend, e.g. ``organization/legacy/dev``."""
    (state / "stacks" / qualified.replace("/", "__")).write_text(content)


def stack_content(state: Path, qualified: str) -> str | None:
    """The fake backend's state of a stack, None when it does not exist."""
    path = state / "stacks" / qualified.replace("/", "__")
    return path.read_text() if path.exists() else None


def fake_calls(state: Path) -> list[dict[str, object]]:
    """Every recorded call, ``pulumi version`` included."""
    lines = (state / "calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def settings(**values: object) -> PulumiSettings:
    return PulumiSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    return install_fake_cli(tmp_path, monkeypatch)


# --- without any CLI --------------------------------------------------------------------


def test_missing_cli_raises_tool_missing_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "empty-cache"))
    state_dir = tmp_path / "state"
    with pytest.raises(ToolMissing) as info:
        PulumiStateMigrator(settings(), state_dir, org="orchestra")
    message = str(info.value)
    assert "Pulumi CLI" in message and "get.pulumi.com" in message
    assert "state migration pending" in message
    assert "No package registry ships the Pulumi CLI" in info.value.install_hint
    assert not state_dir.exists()  # no backend directory, no passphrase file


# --- against fake_pulumi ----------------------------------------------------------------


def test_export_rename_verify_restore_run_fully_qualified_commands(
    fake_cli: Path, tmp_path: Path
) -> None:
    seed_stack(fake_cli, "organization/legacy/dev", '{"version": 3, "marker": "old"}')
    project_dir = tmp_path / "infrastructure" / "pulumi" / "shared"
    project_dir.mkdir(parents=True)
    migrator = PulumiStateMigrator(
        settings(config_passphrase=SecretStr(CANARY)), tmp_path / "state", org="orchestra"
    )
    assert migrator.qualified("legacy", "dev") == "organization/legacy/dev"  # file backend
    assert migrator.stack_exists("legacy", "dev")
    assert not migrator.stack_exists("orchestra-shared", "dev")

    checkpoint = tmp_path / "checkpoints" / "legacy.dev.json"
    migrator.export_stack("legacy", "dev", str(checkpoint))
    assert json.loads(checkpoint.read_text())["marker"] == "old"
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    migrator.rename_stack("legacy", "orchestra-shared", "dev", str(project_dir))
    assert stack_content(fake_cli, "organization/orchestra-shared/dev") is not None
    migrator.verify_no_changes("orchestra-shared", "dev", str(project_dir))
    migrator.rename_stack("orchestra-shared", "legacy", "dev", str(project_dir))
    seed_stack(fake_cli, "organization/legacy/dev", "{}")  # the state changed meanwhile
    migrator.restore_stack("legacy", "dev", str(checkpoint), str(project_dir))
    assert stack_content(fake_cli, "organization/legacy/dev") == checkpoint.read_text()

    calls = [c for c in fake_calls(fake_cli) if c["argv"] != ["version"]]
    argv = [c["argv"] for c in calls]
    old, new = "organization/legacy/dev", "organization/orchestra-shared/dev"
    assert all(a[0] == "--non-interactive" for a in argv)
    assert [a[1:] for a in argv] == [
        ["stack", "ls", "--json", "--project", "legacy"],
        ["stack", "ls", "--json", "--project", "orchestra-shared"],
        ["stack", "export", "--stack", old, "--file", str(checkpoint)],
        ["stack", "rename", new, "--stack", old],
        ["preview", "--expect-no-changes", "--stack", new],
        ["stack", "rename", old, "--stack", new],
        ["stack", "import", "--stack", old, "--file", str(checkpoint)],
    ]
    # Rename, preview and import run in the project directory (the CLI wants a Pulumi.yaml).
    assert [c["cwd"] for c in calls[3:]] == [str(project_dir)] * 4
    assert all({"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"} <= set(c["env"]) for c in calls)
    assert CANARY not in (fake_cli / "calls.jsonl").read_text()  # only via the environment


def test_pulumi_cloud_uses_the_mapping_org_and_filters_by_it(
    fake_cli: Path, tmp_path: Path
) -> None:
    seed_stack(fake_cli, "orchestra/legacy/prod", "{}")
    state_dir = tmp_path / "state"
    migrator = PulumiStateMigrator(
        settings(access_token=SecretStr(CANARY)), state_dir, org="orchestra"
    )
    assert migrator.qualified("legacy", "prod") == "orchestra/legacy/prod"
    assert migrator.stack_exists("legacy", "prod")
    assert not migrator.stack_exists("legacy", "dev")
    listing = next(c for c in fake_calls(fake_cli) if "ls" in c["argv"])
    assert listing["argv"][-2:] == ["--organization", "orchestra"]
    assert "PULUMI_ACCESS_TOKEN" in listing["env"]
    assert not (state_dir / "pulumi" / "passphrase").exists()
    assert CANARY not in repr(migrator)


def test_a_failed_preview_is_a_stack_error_without_the_passphrase(
    fake_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_stack(fake_cli, "organization/orchestra-backend/dev", "{}")
    monkeypatch.setenv("FAKE_PULUMI_PREVIEW_CHANGES", "1")
    migrator = PulumiStateMigrator(
        settings(config_passphrase=SecretStr(CANARY)), tmp_path / "state", org="orchestra"
    )
    with pytest.raises(StackError) as info:
        migrator.verify_no_changes("orchestra-backend", "dev", str(tmp_path))
    message = str(info.value)
    assert "no-change preview of orchestra-backend/dev failed" in message
    assert "changes were proposed" in message and "***" in message
    assert CANARY not in message


def test_missing_and_clashing_stacks_are_translated(fake_cli: Path, tmp_path: Path) -> None:
    seed_stack(fake_cli, "organization/legacy/dev", "{}")
    seed_stack(fake_cli, "organization/orchestra-shared/dev", "{}")
    migrator = PulumiStateMigrator(settings(), tmp_path / "state", org="orchestra")
    with pytest.raises(StackNotFound, match="export of legacy/prod"):
        migrator.export_stack("legacy", "prod", str(tmp_path / "cp.json"))
    with pytest.raises(StackError, match="already exists"):
        migrator.rename_stack("legacy", "orchestra-shared", "dev", str(tmp_path))
    assert stack_content(fake_cli, "organization/legacy/dev") == "{}"


def test_a_program_without_its_language_host_is_unavailable_and_says_why(
    fake_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_stack(fake_cli, "organization/orchestra-backend/dev", "{}")
    monkeypatch.setenv("FAKE_PULUMI_NO_LANGUAGE_HOST", "1")
    project_dir = tmp_path / "backend"  # a legacy program moved in under our name
    project_dir.mkdir()
    (project_dir / "Pulumi.yaml").write_text("name: orchestra-backend\nruntime: python\n")
    (project_dir / "__main__.py").write_text("import pulumi\n")
    migrator = PulumiStateMigrator(settings(), tmp_path / "state", org="orchestra")
    with pytest.raises(StackUnavailable) as info:
        migrator.verify_no_changes("orchestra-backend", "dev", str(project_dir))
    message = str(info.value)
    assert "not one of ours" in message and "no language host" in message
    assert "pulumi-language-python" in message
    preview = [c for c in fake_calls(fake_cli) if "preview" in c["argv"]]
    assert [c["cwd"] for c in preview] == [str(project_dir)]
    assert "PULUMI_PYTHON" in preview[0]["env"]


# --- with the real CLI (skipped on machines without it) --------------------------------


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The Lambda emulator the shared program's providers call (no boot delay)."""
    emulator = LambdaCloudEmulator(api_key=CANARY)
    with serve_in_thread(emulator.app()) as served:
        monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
        monkeypatch.setenv("LAMBDA_LABS_API_URL", served.url)
        yield
    emulator.close()


@pytest.mark.pulumi_cli
@pytest.mark.slow
@needs_cli
def test_real_cli_migrates_a_stack_and_verifies_our_program_inline(
    tmp_path: Path, clean_env: None, lambda_api: None
) -> None:
    """Rename, export, verify and restore with the real CLI; the state is a real stack.

    The stack is brought up as orchestra-shared, renamed to a legacy name (a directory
    with another program), then migrated back the way the reorganisation does it.
    """
    shared_dir, legacy_dir, state_dir = tmp_path / "shared", tmp_path / "legacy", tmp_path / "st"
    shutil.copytree(INFRA / "shared", shared_dir)
    legacy_dir.mkdir()
    (legacy_dir / "Pulumi.yaml").write_text("name: legacy-shared\nruntime: python\n")
    (legacy_dir / "__main__.py").write_text("import pulumi\n")
    engine = PulumiEngine(settings(), state_dir)
    engine.up(engine.select_or_create(shared_dir, "dev"))

    migrator = PulumiStateMigrator(settings(), state_dir, org="ignored-on-a-file-backend")
    migrator.rename_stack("orchestra-shared", "legacy-shared", "dev", str(legacy_dir))
    assert migrator.stack_exists("legacy-shared", "dev")
    assert not migrator.stack_exists("orchestra-shared", "dev")
    with pytest.raises(StackUnavailable, match="no language host"):  # not ours: needs the host
        migrator.verify_no_changes("legacy-shared", "dev", str(legacy_dir))

    checkpoint = tmp_path / "checkpoints" / "legacy-shared.dev.json"
    migrator.export_stack("legacy-shared", "dev", str(checkpoint))
    assert json.loads(checkpoint.read_text())["version"] >= 3
    migrator.rename_stack("legacy-shared", "orchestra-shared", "dev", str(shared_dir))
    migrator.verify_no_changes("orchestra-shared", "dev", str(shared_dir))  # ours: inline

    stack_file = shared_dir / "Pulumi.dev.yaml"
    settled = stack_file.read_text()
    stack_file.write_text(settled.replace("orchestra-dev-api", "orchestra-dev-api-2"))
    with pytest.raises(StackError, match="no-change preview of orchestra-shared/dev failed"):
        migrator.verify_no_changes("orchestra-shared", "dev", str(shared_dir))
    stack_file.write_text(settled)

    # Undo as the reorganisation's rollback does: rename back and import, in the new directory.
    migrator.rename_stack("orchestra-shared", "legacy-shared", "dev", str(shared_dir))
    migrator.restore_stack("legacy-shared", "dev", str(checkpoint), str(shared_dir))
    assert migrator.stack_exists("legacy-shared", "dev")
    assert not migrator.stack_exists("orchestra-shared", "dev")


@pytest.mark.pulumi_cli
@needs_cli
def test_real_cli_unknown_stack_is_not_found(tmp_path: Path, clean_env: None) -> None:
    migrator = PulumiStateMigrator(settings(), tmp_path / "state", org="organization")
    assert not migrator.stack_exists("no-such-project", "dev")
    with pytest.raises(StackNotFound):
        migrator.export_stack("no-such-project", "dev", str(tmp_path / "cp.json"))
