"""Checks for the legacy-layout target repository under ``examples/orchestra-main``.

The fixture stands in for the ``orchestra-main`` repository before the roadmap
is carried out. These tests make sure the files the flows rely on are present,
and that every Pulumi project file is valid. That both frontends build from their
committed lockfiles (``npm ci``, then ``npm run build``) is checked where the product
builds them: the admin interface in the frontend flow tests, both apps in the demo
(``tests/e2e/test_demo.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / "examples" / "orchestra-main"

BUILD_ARTEFACTS = frozenset({"node_modules", "dist", ".next"})

EXPECTED_FILES: tuple[str, ...] = (
    "README.md",
    ".gitignore",
    "requirements.txt",
    "deploy_lambda_labs.sh",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "index.ts",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    "admin-interface/package.json",
    "admin-interface/package-lock.json",
    "admin-interface/vite.config.ts",
    "admin-interface/tsconfig.json",
    "admin-interface/index.html",
    "admin-interface/settings.html",
    "admin-interface/src/main.ts",
    "admin-interface/Dockerfile",
    "admin-interface/.env.example",
    "admin-interface/nginx.conf",
    "admin-interface/.gitignore",
    "dashboard/package.json",
    "dashboard/package-lock.json",
    "dashboard/next.config.js",
    "dashboard/tsconfig.json",
    "dashboard/next-env.d.ts",
    "dashboard/app/page.tsx",
    "dashboard/Dockerfile",
    "dashboard/docker-compose.yml",
    "infrastructure/pulumi/Pulumi.yaml",
    "infrastructure/pulumi/Pulumi.dev.yaml",
    "infrastructure/pulumi/Pulumi.prod.yaml",
    "infrastructure/pulumi/__main__.py",
    "infrastructure/pulumi/requirements.txt",
    "legacy/infra/Pulumi.yaml",
    "legacy/infra/Pulumi.dev.yaml",
    "legacy/infra/__main__.py",
    "legacy/infra/dev/Pulumi.yaml",
    "legacy/infra/dev/__main__.py",
)

# Project file -> (project name, Pulumi runtime name).
PULUMI_PROJECTS: dict[str, tuple[str, str]] = {
    "Pulumi.yaml": ("orchestra-main", "nodejs"),
    "infrastructure/pulumi/Pulumi.yaml": ("lambda-infra", "python"),
    "legacy/infra/Pulumi.yaml": ("legacy-database", "python"),
    "legacy/infra/dev/Pulumi.yaml": ("legacy-dev", "python"),
}

PINNED_REQUIREMENTS: tuple[str, ...] = (
    "requirements.txt",
    "infrastructure/pulumi/requirements.txt",
)


def _load_yaml(path: Path) -> Any:
    """Parse ``path`` with the safe ruamel.yaml loader."""
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _runtime_name(runtime: Any) -> str:
    """Return the runtime name of a Pulumi project (string or mapping form)."""
    if isinstance(runtime, dict):
        return str(runtime["name"])
    return str(runtime)


@pytest.mark.parametrize("relative_path", EXPECTED_FILES)
def test_expected_file_exists(relative_path: str) -> None:
    """Every file the flows read is present in the fixture."""
    assert (FIXTURE / relative_path).is_file(), f"missing fixture file: {relative_path}"


@pytest.mark.parametrize(("relative_path", "expected"), sorted(PULUMI_PROJECTS.items()))
def test_pulumi_project_parses(relative_path: str, expected: tuple[str, str]) -> None:
    """Each Pulumi.yaml is valid YAML with the expected ``name`` and ``runtime``."""
    project = _load_yaml(FIXTURE / relative_path)
    assert isinstance(project, dict)
    assert "name" in project
    assert "runtime" in project
    assert (project["name"], _runtime_name(project["runtime"])) == expected


def test_pulumi_project_discovery_matches_layout() -> None:
    """The fixture holds exactly the four legacy Pulumi projects, no more."""
    found = {p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("Pulumi.yaml")}
    assert found == set(PULUMI_PROJECTS)


@pytest.mark.parametrize("relative_path", PINNED_REQUIREMENTS)
def test_requirements_are_exactly_pinned(relative_path: str) -> None:
    """Every requirement line uses ``==`` so scanners can run without resolving."""
    lines = [
        line.split("#", 1)[0].strip()
        for line in (FIXTURE / relative_path).read_text(encoding="utf-8").splitlines()
    ]
    requirements = [line for line in lines if line]
    assert requirements
    unpinned = [line for line in requirements if "==" not in line]
    assert not unpinned, f"{relative_path} has unpinned lines: {unpinned}"


def test_no_build_artefacts_in_fixture() -> None:
    """No node_modules, dist, .next or tsbuildinfo output was left in the repo tree."""
    leftovers = sorted(
        p.relative_to(FIXTURE).as_posix()
        for p in FIXTURE.rglob("*")
        if p.name in BUILD_ARTEFACTS or p.name.endswith(".tsbuildinfo")
    )
    assert not leftovers, f"build output found in the fixture: {leftovers}"
