"""Rewrites: project files keep comments and order, stack configs keep every other byte."""

from __future__ import annotations

from orchestra_ops.domain.reorg.paths import Layout
from orchestra_ops.domain.reorg.rewrite import (
    PathMap,
    RefContext,
    qualify,
    rewrite_ci,
    rewrite_project_file,
    rewrite_stack_config,
    rewrite_stack_refs,
)
from tests.unit.reorg.snapshots import fixture_snapshot

PROJECT = """\
# The backend program.
name: lambda-infra   # old name
runtime:
  name: python
  options:
    virtualenv: venv
description: old text
config:
  lambda-infra:region: us-west-1
  aws:region: us-east-1
"""


def test_project_file_keeps_comments_order_and_renames_project_config() -> None:
    after = rewrite_project_file(PROJECT, "Pulumi.yaml", "orchestra-backend", "New", "lambda-infra")
    assert "name: orchestra-backend # old name\n" in after
    assert after == (
        PROJECT.replace("name: lambda-infra   #", "name: orchestra-backend #")
        .replace("description: old text", "description: New")
        .replace("  lambda-infra:region", "  orchestra-backend:region")
    )


def test_project_file_keeps_description_when_none_given() -> None:
    after = rewrite_project_file(PROJECT, "Pulumi.yaml", "x", None, "lambda-infra")
    assert "description: old text\n" in after


def test_stack_config_secure_values_are_untouched_byte_for_byte() -> None:
    before = fixture_snapshot()["infrastructure/pulumi/Pulumi.dev.yaml"]
    after = rewrite_stack_config(before, "Pulumi.dev.yaml", "lambda-infra", "orchestra-backend")
    assert after == before.replace("  lambda-infra:", "  orchestra-backend:")
    secure = [line for line in before.splitlines() if "secure:" in line]
    assert secure and all(line in after.splitlines() for line in secure)
    assert after.startswith(before.splitlines()[0])  # encryptionsalt kept


def test_stack_config_renames_quoted_keys_and_leaves_providers_alone() -> None:
    before = "config:\n  \"old:a\": 1\n  aws:region: x\n  'old:b':\n    secure: AAA=\n"
    after = rewrite_stack_config(before, "Pulumi.s.yaml", "old", "new")
    assert after == "config:\n  \"new:a\": 1\n  aws:region: x\n  'new:b':\n    secure: AAA=\n"


def test_qualify_stack_reference_forms() -> None:
    context = RefContext("acme", {"old": "new"}, frozenset({"old", "other"}), "mine")
    assert qualify("acme/old/dev", context) == "acme/new/dev"
    assert qualify("team/other/prod", context) == "team/other/prod"
    assert qualify("old/dev", context) == "acme/new/dev"
    assert qualify("dev", context) == "acme/mine/dev"
    assert qualify("someorg/dev", context) == "someorg/dev"
    assert qualify("acme/{project}/dev", context) == "acme/{project}/dev"
    assert qualify("acme/old/${stack}", context) == "acme/new/${stack}"


def test_stack_references_rewritten_in_python_and_typescript() -> None:
    context = RefContext("acme", {"db": "shared"}, frozenset({"db"}), "backend")
    python = 'a = pulumi.StackReference(f"acme/db/{stack}")\nb = StackReference(name="dev")\n'
    assert rewrite_stack_refs(python, context) == (
        'a = pulumi.StackReference(f"acme/shared/{stack}")\n'
        'b = StackReference(name="acme/backend/dev")\n'
    )
    typescript = "const s = new pulumi.StackReference(\n    `acme/db/${env}`);\n"
    assert "`acme/shared/${env}`" in rewrite_stack_refs(typescript, context)


def test_path_map_longest_prefix_keeps_nested_and_kept_projects() -> None:
    paths = PathMap(
        {"Pulumi.yaml": "infra/front/Pulumi.yaml"},
        {"legacy/infra": "infra/shared", "legacy/infra/dev": "legacy/infra/dev"},
    )
    assert paths.map("legacy/infra/**", bare_names=False) == "infra/shared/**"
    assert paths.map("legacy/infra/dev/x.py", bare_names=False) == "legacy/infra/dev/x.py"
    assert paths.map("./legacy/infra/", bare_names=False) == "./infra/shared/"
    assert paths.map("legacy/infrastructure", bare_names=False) == "legacy/infrastructure"
    assert paths.map("legacy/**", bare_names=False) == "legacy/**"
    assert paths.map("Pulumi.yaml", bare_names=False) == "Pulumi.yaml"
    assert paths.map("Pulumi.yaml", bare_names=True) == "infra/front/Pulumi.yaml"
    assert paths.map("/abs/legacy/infra", bare_names=True) == "/abs/legacy/infra"


def test_ci_rewrite_follows_work_dir_paths_and_cd() -> None:
    workflow = (
        "on:\n  push:\n    paths:\n      - 'legacy/infra/**'\n      - Pulumi.yaml\n"
        "jobs:\n  a:\n    steps:\n      - run: cd legacy/infra && pulumi preview\n"
        "      - with:\n          work-dir: legacy/infra\n"
        "      - run: echo Pulumi.yaml https://example.com/legacy/infra\n"
    )
    before = frozenset({"Pulumi.yaml", "legacy/infra/Pulumi.yaml", ".github/workflows/x.yml"})
    moved = {"Pulumi.yaml": "f/Pulumi.yaml", "legacy/infra/Pulumi.yaml": "infra/shared/Pulumi.yaml"}
    layout = Layout(before, moved, {"legacy/infra": "infra/shared"})
    after = rewrite_ci(workflow, ".github/workflows/x.yml", layout).text
    assert after == (
        "on:\n  push:\n    paths:\n      - 'infra/shared/**'\n      - f/Pulumi.yaml\n"
        "jobs:\n  a:\n    steps:\n      - run: cd infra/shared && pulumi preview\n"
        "      - with:\n          work-dir: infra/shared\n"
        "      - run: echo Pulumi.yaml https://example.com/legacy/infra\n"
    )


def test_recursive_paths_filter_keeps_covering_a_nested_project_moved_away() -> None:
    workflow = "on:\n  push:\n    paths:\n      - 'legacy/**'\n      - \"legacy/infra/**\"\n"
    before = frozenset({"legacy/infra/Pulumi.yaml", "legacy/infra/dev/Pulumi.yaml"})
    moved = {
        "legacy/infra/Pulumi.yaml": "infra/shared/Pulumi.yaml",
        "legacy/infra/dev/Pulumi.yaml": "infra/old-dev/Pulumi.yaml",
    }
    layout = Layout(
        before, moved, {"legacy/infra": "infra/shared", "legacy/infra/dev": "infra/old-dev"}
    )
    after = rewrite_ci(workflow, ".github/workflows/ci.yml", layout).text
    assert after == (
        "on:\n  push:\n    paths:\n"
        "      - 'legacy/**'\n"
        "      - 'infra/old-dev/**'\n"
        '      - "infra/shared/**"\n'
    )
