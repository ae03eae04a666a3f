"""Validation of the new layout: parse, key namespaces, compile, StackReference targets."""

from __future__ import annotations

from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import default_mapping
from orchestra_ops.domain.reorg.model import Plan
from orchestra_ops.domain.reorg.plan import apply_to_snapshot, build_plan
from orchestra_ops.domain.reorg.validate import validate_layout
from tests.unit.reorg.snapshots import fixture_snapshot


def _applied() -> tuple[dict[str, str], Plan]:
    snapshot = fixture_snapshot()
    plan = build_plan(snapshot, default_mapping(discover(snapshot)))
    return apply_to_snapshot(snapshot, plan), plan


def test_the_planned_layout_validates() -> None:
    after, plan = _applied()
    report = validate_layout(after, plan)
    assert report.ok, report.problems
    assert report.projects == (
        "orchestra-backend",
        "orchestra-frontend",
        "orchestra-legacy-dev",
        "orchestra-shared",
    )


def test_an_old_namespace_left_in_a_config_file_is_reported() -> None:
    after, plan = _applied()
    path = "infrastructure/pulumi/backend/Pulumi.prod.yaml"
    after[path] = after[path].replace("orchestra-backend:region", "lambda-infra:region")
    problems = [str(p) for p in validate_layout(after, plan).problems]
    assert problems == [
        f"{path}:1: key 'lambda-infra:region' is namespaced 'lambda-infra', not 'orchestra-backend'"
    ]


def test_a_python_program_that_does_not_compile_is_reported() -> None:
    after, plan = _applied()
    after["infrastructure/pulumi/shared/__main__.py"] += "\ndef broken(:\n"
    problems = validate_layout(after, plan).problems
    assert [p.path for p in problems] == ["infrastructure/pulumi/shared/__main__.py"]
    assert "does not compile" in problems[0].message


def test_a_reference_to_a_missing_project_is_reported() -> None:
    after, plan = _applied()
    path = "infrastructure/pulumi/frontend/index.ts"
    after[path] = after[path].replace(
        "orchestra/orchestra-backend/dev", "orchestra/lambda-infra/dev"
    )
    problems = validate_layout(after, plan).problems
    assert [(p.path, p.line) for p in problems] == [(path, 15)]
    assert "names no project of the new layout" in problems[0].message


def test_a_missing_target_and_an_unparsable_project_are_reported() -> None:
    after, plan = _applied()
    del after["infrastructure/pulumi/legacy/dev/Pulumi.yaml"]
    assert "expected project 'orchestra-legacy-dev'" in str(
        validate_layout(after, plan).problems[0]
    )
    after["infrastructure/pulumi/shared/Pulumi.yaml"] = "name: [\n"
    problem = validate_layout(after, plan).problems[0]
    assert problem.path == "infrastructure/pulumi/shared/Pulumi.yaml"
    assert "not valid YAML" in problem.message


def test_the_legacy_layout_itself_is_valid_without_a_plan() -> None:
    assert validate_layout(fixture_snapshot()).ok
