"""Undoing a dry run's preview stacks (``provisioning_rollback.undo_preview``), as the next
dry run and ``orchestra-ops recover`` do it: on the engine test double, no Prefect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from orchestra_ops import provisioning_rollback as undo
from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.errors import ConfigError
from orchestra_ops.ledger import Closure, Intent, Ledger
from orchestra_ops.ports.stack_engine import Checkpoint
from orchestra_ops.recover import reconcile_intents
from orchestra_ops.saga import Saga
from orchestra_ops.settings import load_settings
from tests.doubles.program_engine import ProgramUnderMocksEngine

INFRA = Path(__file__).resolve().parents[2] / "infrastructure" / "pulumi"


def preview_intent(infra: Path, projects: list[str]) -> Intent:
    """A dry run's intent that made every project's stack and overrode no config."""
    target = {
        "environment": "dev",
        "infra": str(infra),
        "projects": projects,
        "new": projects,
        "overrides": {},
    }
    return Intent(
        "lambda:dev:r1:preview-stacks",
        undo.PREVIEW_STEP,
        target,
        {"action": undo.PREVIEW_ACTION, "backup": "lambda:dev:r1"},
        0.0,
        "lambda:dev:r1",
    )


def test_an_empty_stack_is_removed_and_its_file_restored_a_provisioned_one_kept(
    tmp_path: Path,
) -> None:
    infra = tmp_path / "infra"
    shutil.copytree(INFRA, infra)
    original = (infra / "shared" / "Pulumi.dev.yaml").read_text()
    backups = BackupStore(tmp_path / "backups", SecretStr(Fernet.generate_key().decode()))
    backups.keep_files(
        "lambda:dev:r1", {"shared/Pulumi.dev.yaml": original, "backend/Pulumi.dev.yaml": None}
    )
    engine = ProgramUnderMocksEngine(load_settings(None), tmp_path / "state")
    shared = engine.select_or_create(infra / "shared", "dev")
    held = {"k": {"id": "k-1", "type": "pulumi-python:dynamic/lambda:SshKey", "outputs": {}}}
    deployment = {"project": "orchestra-shared", "resources": held, "outputs": {}}
    # A run has provisioned the shared stack since the dry run.
    engine.import_(shared, Checkpoint(json.dumps({"version": 3, "deployment": deployment})))
    engine.select_or_create(infra / "backend", "dev")  # empty, as the preview left it
    (infra / "backend" / "Pulumi.dev.yaml").write_text("encryptionsalt: v1:preview\n")
    (infra / "shared" / "Pulumi.dev.yaml").write_text(original + "# the run's own change\n")

    decision = undo.undo_preview(
        lambda: engine, backups, preview_intent(infra, ["shared", "backend"])
    )

    assert decision.outcome is Closure.COMPENSATED
    assert "shared/dev: kept, a run has provisioned it since" in decision.detail
    assert "backend/dev: removed" in decision.detail
    assert engine.state(shared).resources  # kept with its file as the run left it
    assert (infra / "shared" / "Pulumi.dev.yaml").read_text().endswith("own change\n")
    assert not (infra / "backend" / "Pulumi.dev.yaml").exists()  # there was none before
    assert list((tmp_path / "state").rglob("backend--dev.json")) == []


def test_a_stack_removed_already_or_a_project_gone_is_named(tmp_path: Path) -> None:
    """A deployment run's clone is gone after the run: its stack is removed through a copy
    of the project given (never forced), and no stack file is written anywhere."""
    backups = BackupStore(tmp_path / "backups", SecretStr(Fernet.generate_key().decode()))
    backups.keep_files("lambda:dev:r1", {"shared/Pulumi.dev.yaml": None})
    infra = tmp_path / "infra"
    shutil.copytree(INFRA / "shared", infra / "shared")
    engine = ProgramUnderMocksEngine(load_settings(None), tmp_path / "state")
    engine.select_or_create(INFRA / "backend", "dev")  # made from the clone, now gone
    intent = preview_intent(infra, ["shared", "backend"])

    with pytest.raises(ConfigError, match="not here, and no project to work from"):
        undo.undo_preview(lambda: engine, backups, intent)
    decision = undo.undo_preview(lambda: engine, backups, intent, INFRA)

    assert "shared/dev: not there (never made, or removed already)" in decision.detail
    assert "backend/dev: removed" in decision.detail
    assert "backend/Pulumi.dev.yaml: in " in decision.detail and "is gone" in decision.detail
    assert list((tmp_path / "state").rglob("*.json")) == []


def test_a_stack_file_someone_edited_since_the_dry_run_is_left_as_it_is(tmp_path: Path) -> None:
    """Met by an outside check: a killed dry run's undo put back the file as it was before
    that dry run, losing a count an operator had committed since."""
    infra = tmp_path / "infra"
    shutil.copytree(INFRA, infra)
    stack_file = infra / "backend" / "Pulumi.dev.yaml"
    original = stack_file.read_text()
    backups = BackupStore(tmp_path / "backups", SecretStr(Fernet.generate_key().decode()))
    backups.keep_files("lambda:dev:r1", {"backend/Pulumi.dev.yaml": original})
    edited = original.replace('count: "1"', 'count: "2"')
    assert edited != original
    stack_file.write_text(edited)
    intent = preview_intent(infra, ["backend"])
    intent.target.update(new=[], overrides={"backend": {"count": "3"}})
    engine = ProgramUnderMocksEngine(load_settings(None), tmp_path / "state")

    decision = undo.undo_preview(lambda: engine, backups, intent)

    assert stack_file.read_text() == edited
    assert "backend/Pulumi.dev.yaml: changed since the dry run, not by it" in decision.detail
    stack_file.write_text(original.replace('count: "1"', 'count: "3"'))  # the dry run's own
    backups.keep_files("lambda:dev:r1", {"backend/Pulumi.dev.yaml": original})
    undo.undo_preview(lambda: engine, backups, intent)
    assert stack_file.read_text() == original


def test_recover_of_one_environment_leaves_the_others_dry_runs_alone(tmp_path: Path) -> None:
    """Met by an outside check: `recover --environment dev` also settled prod's."""
    ledger = Ledger.of(tmp_path)
    for environment in ("dev", "prod"):
        target = {"environment": environment, "infra": str(tmp_path), "projects": []}
        Saga(undo.saga_id(environment, "r1"), ledger).intend(
            undo.PREVIEW_STEP, target, {"action": undo.PREVIEW_ACTION, "backup": "b"}
        )
    clients: Any = SimpleNamespace(
        settings=SimpleNamespace(runtime=SimpleNamespace(state_dir=tmp_path))
    )

    settled = reconcile_intents(
        ledger, clients, lambda *_: None, dry_run=True, infra=None, environments=["dev"]
    )

    assert [r.key for r in settled] == ["lambda:dev:r1:preview-stacks"]
    assert "removed while still empty" in settled[0].detail
