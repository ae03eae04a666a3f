"""ORCHESTRA_STACK_ENGINE names a factory; what it makes must be a stack engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("os.path:join", "failed when called with (settings, state_dir)"),
        ("builtins:slice", "made slice, not a stack engine (no select_or_create"),
    ],
)
def test_a_factory_that_makes_no_engine_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spec: str, complaint: str
) -> None:
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", spec)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path))
    with build(load_settings(None)) as clients, pytest.raises(ConfigError) as caught:
        clients.stack_engine()
    assert complaint in str(caught.value)
    assert caught.value.source == "ORCHESTRA_STACK_ENGINE"


def test_the_double_named_by_its_factory_is_an_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    double = "tests.doubles.program_engine:ProgramUnderMocksEngine"
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", double)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path))
    with build(load_settings(None)) as clients:
        assert callable(clients.stack_engine().up)
