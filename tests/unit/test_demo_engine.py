"""`orchestra-ops demo` runs its stacks on the Pulumi engine, or stops at once saying why."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra_cli.demo import NO_ENGINE, run_demo


def _demo(tmp_path: Path) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_demo(
        tmp_path / "state", tmp_path / "report.json", inject_failure=False, echo=lines.append
    )
    return code, lines


def test_without_the_cli_the_demo_says_what_to_run_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    code, lines = _demo(tmp_path)
    assert (code, lines) == (2, [NO_ENGINE])
    assert "make pulumi" in NO_ENGINE
    assert not (tmp_path / "state").exists() and not (tmp_path / "report.json").exists()


def test_a_cli_without_the_dynamic_provider_launcher_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "pulumi").chmod(0o700)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    code, lines = _demo(tmp_path)
    assert code == 2 and len(lines) == 1
    assert "pulumi-resource-pulumi-python" in lines[0] and "make pulumi" in lines[0]
    assert not (tmp_path / "state").exists()
