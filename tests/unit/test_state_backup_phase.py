"""Roadmap phase 2C backs up the stacks that exist and makes none to back it up."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tasks.roadmap import back_up_state
from tests.doubles.program_engine import copy_projects

DOUBLE = "tests.doubles.program_engine:ProgramUnderMocksEngine"


def test_stacks_never_provisioned_are_named_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, infra = tmp_path / "state", copy_projects(tmp_path / "pulumi")
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(state))
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", DOUBLE)
    with build(load_settings(env_file=None)) as clients:
        clients.stack_engine().select_or_create(infra / "shared", "dev")  # only this one

    result = back_up_state.fn("2C state backup", str(infra), ["dev"])

    assert result.state == "completed"
    assert "1 stack backups" in result.detail
    assert "not provisioned, so not backed up: backend/dev" in result.detail
    (backup,) = (state / "state-backups").iterdir()
    assert backup.name.startswith("shared-dev-") and backup.stat().st_mode & 0o077 == 0
    assert [p.name for p in (state / "engine-double").iterdir()] == ["shared--dev.json"]
