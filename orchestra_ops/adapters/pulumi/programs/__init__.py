"""The Pulumi programs of ``infrastructure/pulumi/*``, as importable functions.

Each project's ``__main__.py`` only calls ``program()``; tests call the same functions
under ``pulumi.runtime.set_mocks``, and the engine runs them as inline Automation API
programs, chosen by project name from :data:`PROGRAM_MODULES`. A project of that name
whose entry point runs something else (a legacy program moved in by the reorganisation)
is not ours: :func:`runs_program` tells them apart.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestra_ops.domain.python_source import parse
from orchestra_ops.domain.stack_config import BACKEND_PROJECT, SHARED_PROJECT
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError
from orchestra_ops.former_names import former_program_module

Program = Callable[[], dict[str, Any]]

PROGRAM_MODULES: Mapping[str, str] = {
    SHARED_PROJECT: "orchestra_ops.adapters.pulumi.programs.shared",
    BACKEND_PROJECT: "orchestra_ops.adapters.pulumi.programs.backend",
}
"""Project name (``name:`` of Pulumi.yaml) -> the module whose ``program`` it runs."""


def program_for(project: str) -> Program | None:
    """The program function of ``project``, or None when no program of ours has that name."""
    module = PROGRAM_MODULES.get(project)
    if module is None:
        return None
    # Imported on demand: the programs pull in pulumi and the providers.
    found: Program = importlib.import_module(module).program
    return found


def runs_program(entry_source: str, *modules: str) -> bool:
    """Whether an entry point's source imports ``program`` from one of ``modules`` and calls
    it."""
    try:
        tree = parse(entry_source)
    # Nesting too deep ends in RecursionError, or MemoryError from the parser's own stack.
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    imported = any(
        isinstance(node, ast.ImportFrom)
        and node.module in modules
        and any(alias.name == "program" and alias.asname is None for alias in node.names)
        for node in tree.body
    )
    called = any(
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "program"
        for node in tree.body
    )
    return imported and called


@dataclass(frozen=True)
class ProjectProgram:
    """A project of ours: its name (Pulumi.yaml) and the program function it runs."""

    name: str
    program: Program

    def run(self) -> None:
        """Run the program (the shape the Automation API wants of an inline program)."""
        self.program()


def our_program(project_dir: Path) -> ProjectProgram:
    """The program of the project in ``project_dir``; ConfigError naming the file otherwise.

    Ours means: a registered name (:data:`PROGRAM_MODULES`), the python runtime, and an
    entry point that runs that program. A legacy program moved in under one of our names
    is refused: running ours against its state would replace its resources.
    """
    path = project_dir / "Pulumi.yaml"
    try:
        meta = load_yaml(path.read_text(encoding="utf-8"), str(path), typ="safe")
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the project file ({error})", source=str(path)
        ) from error
    name = str(meta.get("name")) if isinstance(meta, dict) else None
    program = program_for(name) if name else None
    if name is None or program is None:
        raise ConfigError(
            f"{path}: project {name!r} has no program in orchestra_ops (known: "
            f"{', '.join(PROGRAM_MODULES)}); the engine runs only those",
            source=str(path),
        )
    runtime = meta.get("runtime")
    runtime = runtime.get("name") if isinstance(runtime, dict) else runtime
    entry = project_dir / str(meta.get("main") or "")
    entry = entry / "__main__.py" if entry.is_dir() else entry
    module = PROGRAM_MODULES[name]
    source = entry.read_text(encoding="utf-8") if entry.is_file() else ""
    if runtime != "python" or not runs_program(source, module, former_program_module(module)):
        raise ConfigError(
            f"{path}: project {name!r} does not run {module}.program (runtime {runtime!r}, "
            f"entry point {entry}): another program lives here under our project's name, "
            "and the engine runs only ours",
            source=str(path),
        )
    return ProjectProgram(name, program)
