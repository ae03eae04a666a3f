"""Which program a project directory runs: ours by name and entry point, else a ConfigError."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from orchestra_ops.adapters.pulumi.programs import (
    PROGRAM_MODULES,
    backend,
    our_program,
    program_for,
    runs_program,
    shared,
)
from orchestra_ops.errors import ConfigError

INFRA = Path(__file__).resolve().parents[4] / "infrastructure" / "pulumi"


def test_each_infrastructure_project_runs_its_registered_program() -> None:
    assert our_program(INFRA / "shared").program is shared.program
    assert our_program(INFRA / "backend").program is backend.program
    assert our_program(INFRA / "backend").name == "orchestra-backend"
    assert set(PROGRAM_MODULES) == {"orchestra-shared", "orchestra-backend"}
    assert program_for("orchestra-frontend") is None


def test_an_unknown_project_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: orchestra-frontend\nruntime: nodejs\n")
    with pytest.raises(ConfigError) as info:
        our_program(tmp_path)
    assert str(tmp_path / "Pulumi.yaml") in str(info.value)
    assert "'orchestra-frontend' has no program" in str(info.value)
    assert info.value.source == str(tmp_path / "Pulumi.yaml")


def test_a_missing_project_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the project file"):
        our_program(tmp_path)


def test_a_legacy_program_under_our_name_is_not_ours(tmp_path: Path) -> None:
    """The reorganisation moves legacy programs in under our names: never run ours there."""
    shutil.copy(INFRA / "backend" / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.export('legacy', 1)\n")
    with pytest.raises(
        ConfigError, match=r"does not run orchestra_ops\.adapters\.pulumi\.programs\.backend"
    ):
        our_program(tmp_path)
    (tmp_path / "__main__.py").unlink()
    with pytest.raises(ConfigError, match="another program lives here"):
        our_program(tmp_path)


def test_the_entry_point_must_import_and_call_the_registered_program() -> None:
    ours = (INFRA / "shared" / "__main__.py").read_text()
    assert runs_program(ours, "orchestra_ops.adapters.pulumi.programs.shared")
    assert not runs_program(ours, "orchestra_ops.adapters.pulumi.programs.backend")
    imported_only = "from orchestra_ops.adapters.pulumi.programs.shared import program\n"
    assert not runs_program(imported_only, "orchestra_ops.adapters.pulumi.programs.shared")
    renamed = "from orchestra_ops.adapters.pulumi.programs.shared import program as p\np()\n"
    assert not runs_program(renamed, "orchestra_ops.adapters.pulumi.programs.shared")
    assert not runs_program("def (:\n", "orchestra_ops.adapters.pulumi.programs.shared")


def test_a_main_directory_of_pulumi_yaml_is_followed(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    shutil.copy(INFRA / "shared" / "__main__.py", tmp_path / "src" / "__main__.py")
    meta = "name: orchestra-shared\nruntime:\n  name: python\nmain: src\n"
    (tmp_path / "Pulumi.yaml").write_text(meta)
    assert our_program(tmp_path).program is shared.program
    (tmp_path / "Pulumi.yaml").write_text(meta.replace("python", "yaml"))
    with pytest.raises(ConfigError, match="runtime 'yaml'"):
        our_program(tmp_path)


@pytest.mark.parametrize(("project", "program"), [("shared", shared), ("backend", backend)])
def test_an_entry_point_written_before_the_move_still_runs_our_program(
    tmp_path: Path, project: str, program: ModuleType
) -> None:
    """``__main__.py`` files that import from ``orchestra_ops.programs`` (the programs'
    former home) are ours, and the import they make still finds the same program."""
    shutil.copy(INFRA / project / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    former = f"from orchestra_ops.programs.{project} import program\n\nprogram()\n"
    (tmp_path / "__main__.py").write_text(former)
    assert our_program(tmp_path).program is program.program
    # The import a CLI-driven `pulumi up` makes of that file:
    assert importlib.import_module(f"orchestra_ops.programs.{project}").program is program.program
