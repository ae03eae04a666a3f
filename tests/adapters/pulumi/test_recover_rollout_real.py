"""Issue #17 on the Pulumi CLI: a rollout whose run directory is gone (a deployment run's
deleted clone) gets its stack state back through a scratch copy of the project, secrets
still readable, and the operator's checkout the copy was made from is left as it was.

The shared project stands in for the backend one (it holds a secret output); the engine
tests' emulator and passphrase backend (``test_engine_real``) serve it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from orchestra_ops import provisioning_rollback as undo
from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.ledger import Closure, Intent
from tests.adapters.pulumi.test_engine_real import (
    INFRA,
    engine_for,
    lambda_api,
    passphrase_settings,
)
from tests.pulumi_cli import needs_pulumi_cli, shown_secret

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow, needs_pulumi_cli]
__all__ = ["lambda_api"]  # the fixture, used by name


class NoInstances:
    def list_instances(self) -> list[Any]:
        return []

    def terminate(self, ids: list[str]) -> list[Any]:
        raise AssertionError("nothing to terminate")


def files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def resources(checkpoint: str) -> list[str]:
    return sorted(r["urn"] for r in json.loads(checkpoint)["deployment"].get("resources") or [])


def test_a_gone_run_directory_has_its_state_restored_through_a_scratch_copy(
    tmp_path: Path, lambda_api: LambdaCloudClient
) -> None:
    state = tmp_path / "state"
    run_dir = tmp_path / "clone" / "shared"
    shutil.copytree(INFRA / "shared", run_dir)
    checkout = tmp_path / "checkout" / "shared"
    shutil.copytree(INFRA / "shared", checkout)
    before = files(checkout)
    engine = engine_for(state)
    ref = engine.select_or_create(run_dir, "dev")
    engine.up(ref)
    key = shown_secret(passphrase_settings(), state, run_dir, "dev", "ssh_private_key")
    checkpoint = engine.export(ref)
    engine.destroy(ref)  # what the rollout left differs from the checkpoint
    assert resources(engine.export(ref)) != resources(checkpoint)
    shutil.rmtree(tmp_path / "clone")  # the worker deletes the run's clone
    backups = BackupStore(tmp_path / "backups", SecretStr(Fernet.generate_key().decode()))
    backups.keep_checkpoint("lambda:dev:run-1", checkpoint)
    backups.keep_files("lambda:dev:run-1", {"Pulumi.dev.yaml": "encryptionsalt: x\n"})
    target = {"environment": "dev", "backend_dir": str(run_dir), "colour": "green"}
    action = {"action": undo.ROLLOUT_ACTION, "backup": "lambda:dev:run-1"}
    intent = Intent("k", undo.ROLLOUT_STEP, target, action, 0.0, "lambda:dev:run-1")

    decision = undo.undo_rollout(
        NoInstances(), lambda: engine_for(state), backups, "ours", intent, checkout
    )

    assert decision.outcome is Closure.COMPENSATED
    assert f"Pulumi.dev.yaml was in the run's directory {run_dir}, which is gone" in (
        decision.detail
    )
    assert files(checkout) == before and not (tmp_path / "clone").exists()
    reader = engine_for(state)
    with undo.scratch_project(checkout) as project:
        restored = reader.select_or_create(project, "dev")
        assert resources(reader.export(restored)) == resources(checkpoint)
        assert shown_secret(passphrase_settings(), state, project, "dev", "ssh_private_key") == key
    assert files(checkout) == before
