"""A deployment's run works in a clone deleted after it: its state directory is absolute."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra_ops import wiring
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import load_settings


def test_a_deployment_run_refuses_a_relative_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", ".orchestra-ops")
    wiring.for_process(load_settings(None))  # outside a deployment's run: fine
    monkeypatch.setenv("PREFECT__RUNTIME__DEPLOYMENT__ID", "6f1c2b6e-0000-4000-8000-000000000001")
    with pytest.raises(ConfigError, match=r"ORCHESTRA_STATE_DIR is '\.orchestra-ops'"):
        wiring.for_process(load_settings(None))
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))
    wiring.for_process(load_settings(None))
