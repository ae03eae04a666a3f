"""The import arrows run one way: orchestra_cli -> flows -> tasks -> orchestra_ops.

Read from the source with `ast`, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from orchestra_ops.domain.python_source import parse

ROOT = Path(__file__).resolve().parents[2]

# Each package and the top-level packages of this project it must never import.
FORBIDDEN = {
    "orchestra_ops": {"orchestra_cli", "flows", "tasks", "deployments", "bench", "tests"},
    "tasks": {"orchestra_cli", "flows", "deployments", "bench", "tests"},
    "flows": {"orchestra_cli", "deployments", "bench", "tests"},
    "deployments": {"orchestra_cli", "tasks", "bench", "tests"},
    "orchestra_cli": {"bench", "tests"},
    "bench": {"tests"},
}
# Modules a package must not import: flows reach files, clients and tools through tasks.
FORBIDDEN_MODULES = {"flows": ("orchestra_ops.adapters", "orchestra_ops.wiring")}
# Tasks get their clients from wiring: of the adapters, they may import only these file and
# lock helpers (plain functions over local files; no client is built from them).
TASK_ADAPTER_HELPERS = (
    "orchestra_ops.adapters.files",
    "orchestra_ops.adapters.app_source",
    "orchestra_ops.adapters.target_lock",
    "orchestra_ops.adapters.pulumi.ci",
)
# Where `wiring.build` (the composition root's one entry) may be called: the entry points.
BUILD_CALLERS = {"orchestra_cli", "bench"}


@cache
def _modules(package: str) -> list[tuple[Path, ast.Module]]:
    return [
        (path, parse(path.read_text(), filename=str(path)))
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def _imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _imported_packages(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for line, module in _imported_modules(tree):
        yield line, module.split(".")[0]


def _build_calls(tree: ast.Module) -> Iterator[int]:
    imported_build = any(
        isinstance(node, ast.ImportFrom)
        and node.module == "orchestra_ops.wiring"
        and any(alias.name == "build" for alias in node.names)
        for node in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr == "build":
            if isinstance(function.value, ast.Name) and function.value.id == "wiring":
                yield node.lineno
        elif isinstance(function, ast.Name) and function.id == "build" and imported_build:
            yield node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_back_up(package: str) -> None:
    backwards = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path, tree in _modules(package)
        for line, target in _imported_packages(tree)
        if target in FORBIDDEN[package]
    ]
    assert not backwards, "\n".join(backwards)


@pytest.mark.parametrize("package", sorted(FORBIDDEN_MODULES))
def test_flows_reach_io_only_through_tasks(package: str) -> None:
    reaching = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, tree in _modules(package)
        for line, module in _imported_modules(tree)
        if module.startswith(FORBIDDEN_MODULES[package])
    ]
    assert not reaching, "\n".join(reaching)


def test_tasks_get_their_clients_from_wiring_not_from_adapters() -> None:
    reaching = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path, tree in _modules("tasks")
        for line, module in _imported_modules(tree)
        if module.startswith("orchestra_ops.adapters") and module not in TASK_ADAPTER_HELPERS
    ]
    assert not reaching, "\n".join(reaching)


def test_only_the_entry_points_build_the_clients() -> None:
    callers = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in sorted(set(FORBIDDEN) - BUILD_CALLERS)
        for path, tree in _modules(package)
        for line in _build_calls(tree)
    ]
    assert not callers, "wiring.build called outside the entry points:\n" + "\n".join(callers)


def test_the_checks_see_a_backward_import_and_a_build_call() -> None:
    tree = parse(
        "def f():\n"
        "    from flows.roadmap import roadmap\n"
        "    from orchestra_ops.wiring import build\n"
        "    return build(None)\n"
    )
    assert "flows" in {target for _, target in _imported_packages(tree)}
    assert "orchestra_ops.wiring" in {module for _, module in _imported_modules(tree)}
    assert list(_build_calls(tree)) == [4]
