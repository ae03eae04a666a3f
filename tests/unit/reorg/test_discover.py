"""Discovery on the legacy fixture: projects, stacks, StackReferences, CI paths, owned files."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.reorg.discover import discover, entry_point, owned_files
from orchestra_ops.errors import ConfigError
from tests.unit.reorg.snapshots import fixture_snapshot


def test_finds_the_four_projects_with_runtime_and_stacks() -> None:
    found = discover(fixture_snapshot())
    summary = {
        p.directory: (p.name, p.runtime, tuple(s.stack for s in p.stacks)) for p in found.projects
    }
    assert summary == {
        "": ("orchestra-main", "nodejs", ("dev",)),
        "infrastructure/pulumi": ("lambda-infra", "python", ("dev", "prod")),
        "legacy/infra": ("legacy-database", "python", ("dev",)),
        "legacy/infra/dev": ("legacy-dev", "python", ("dev",)),
    }
    root = found.project_at("")
    assert root is not None
    assert root.runtime_options == (("typescript", "True"),)
    assert root.main == "index.ts"
    assert root.description is not None and "frontends" in root.description


def test_stack_config_keys_keep_their_namespaces_in_order() -> None:
    backend = discover(fixture_snapshot()).project_at("infrastructure/pulumi")
    assert backend is not None
    dev = backend.stacks[0]
    assert dev.path == "infrastructure/pulumi/Pulumi.dev.yaml"
    assert dev.keys[0] == "lambda-infra:instance_type"
    assert "lambda-infra:api_key" in dev.keys


def test_finds_stack_references_in_typescript_and_python() -> None:
    refs = discover(fixture_snapshot()).stack_refs
    assert [(r.path, r.line, r.target) for r in refs] == [
        ("index.ts", 15, "orchestra/lambda-infra/dev"),
        ("infrastructure/pulumi/__main__.py", 26, "orchestra/legacy-database/dev"),
    ]


def test_finds_ci_work_dir_paths_filters_and_cd_lines() -> None:
    refs = discover(fixture_snapshot()).path_refs
    kinds = {(r.path, r.kind, r.value) for r in refs}
    assert (".github/workflows/ci.yml", "work-dir", "infrastructure/pulumi") in kinds
    assert (".github/workflows/ci.yml", "paths", "infrastructure/**") in kinds
    assert (".github/workflows/ci.yml", "cd", "infrastructure/pulumi") in kinds
    assert (".github/workflows/ci.yml", "working-directory", "${{ matrix.app }}") in kinds
    assert ("deploy_lambda_labs.sh", "cd", "infrastructure/pulumi") in kinds


def test_root_project_owns_only_its_own_files() -> None:
    snapshot = fixture_snapshot()
    found = discover(snapshot)
    root = found.project_at("")
    assert root is not None
    assert owned_files(root, found, snapshot) == ("Pulumi.dev.yaml", "Pulumi.yaml", "index.ts")
    assert entry_point(root, snapshot) == "index.ts"


def test_root_nodejs_project_takes_its_package_files() -> None:
    snapshot = fixture_snapshot() | {"package.json": "{}", "tsconfig.json": "{}"}
    found = discover(snapshot)
    root = found.project_at("")
    assert root is not None
    assert {"package.json", "tsconfig.json"} <= set(owned_files(root, found, snapshot))


def test_parent_project_does_not_own_the_nested_one() -> None:
    snapshot = fixture_snapshot()
    found = discover(snapshot)
    parent = found.project_at("legacy/infra")
    assert parent is not None
    owned = owned_files(parent, found, snapshot)
    assert owned == (
        "legacy/infra/Pulumi.dev.yaml",
        "legacy/infra/Pulumi.yaml",
        "legacy/infra/__main__.py",
    )


def test_discovery_is_deterministic_whatever_the_dict_order() -> None:
    snapshot = fixture_snapshot()
    reversed_snapshot = dict(reversed(list(snapshot.items())))
    assert discover(snapshot) == discover(reversed_snapshot)


def test_invalid_project_file_names_file_and_line() -> None:
    snapshot = fixture_snapshot() | {"legacy/infra/Pulumi.yaml": "name: x\nruntime: [python\n"}
    with pytest.raises(ConfigError, match=r"legacy/infra/Pulumi\.yaml:\d+: not valid YAML"):
        discover(snapshot)


def test_project_without_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a name"):
        discover({"Pulumi.yaml": "runtime: python\n"})
