"""The plan on the fixture: file-by-file moves, one rewrite per file, diffs and Markdown."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import default_mapping, parse_mapping, render_mapping
from orchestra_ops.domain.reorg.model import Move, Plan, ReorgMapping, Rewrite
from orchestra_ops.domain.reorg.plan import (
    apply_to_snapshot,
    build_plan,
    render_markdown,
    state_commands,
    unified_diff,
)
from orchestra_ops.errors import ConfigError, ReorgError
from tests.unit.reorg.snapshots import fixture_snapshot


def _plan() -> Plan:
    snapshot = fixture_snapshot()
    return build_plan(snapshot, default_mapping(discover(snapshot)))


def test_root_project_moves_only_its_files_and_the_rest_of_the_repo_stays() -> None:
    moves = [op for op in _plan().operations if isinstance(op, Move)]
    root_moves = {(m.src, m.dst) for m in moves if "/" not in m.src}
    assert root_moves == {
        ("Pulumi.yaml", "infrastructure/pulumi/frontend/Pulumi.yaml"),
        ("Pulumi.dev.yaml", "infrastructure/pulumi/frontend/Pulumi.dev.yaml"),
        ("index.ts", "infrastructure/pulumi/frontend/index.ts"),
    }
    sources = {m.src for m in moves}
    assert not any(s.startswith(("admin-interface/", "dashboard/", ".github/")) for s in sources)
    assert "requirements.txt" not in sources and "deploy_lambda_labs.sh" not in sources


def test_nested_project_is_planned_first_and_not_dragged_by_its_parent() -> None:
    moves = [op for op in _plan().operations if isinstance(op, Move)]
    nested = [i for i, m in enumerate(moves) if m.src.startswith("legacy/infra/dev/")]
    parent = [
        i for i, m in enumerate(moves) if m.src.startswith("legacy/infra/") and i not in nested
    ]
    assert max(nested) < min(parent)
    assert all(m.dst.startswith("infrastructure/pulumi/legacy/dev/") for m in moves[: len(nested)])
    assert all(moves[i].dst.startswith("infrastructure/pulumi/shared/") for i in parent)


def test_project_moving_into_its_own_subdirectory_moves_file_by_file() -> None:
    moves = [op for op in _plan().operations if isinstance(op, Move)]
    backend = {m.src: m.dst for m in moves if m.src.startswith("infrastructure/pulumi/")}
    assert backend["infrastructure/pulumi/templates/user-data.yaml.j2"] == (
        "infrastructure/pulumi/backend/templates/user-data.yaml.j2"
    )
    assert len(backend) == 7


def test_one_rewrite_per_file_at_its_new_path() -> None:
    rewrites = [op for op in _plan().operations if isinstance(op, Rewrite)]
    paths = [r.path for r in rewrites]
    assert len(paths) == len(set(paths)) == 13
    assert "infrastructure/pulumi/frontend/index.ts" in paths
    assert ".github/workflows/ci.yml" in paths and "deploy_lambda_labs.sh" in paths


def test_plan_is_deterministic() -> None:
    assert _plan() == _plan()
    assert render_markdown(_plan()) == render_markdown(_plan())


def test_the_plan_shows_its_mapping_as_a_file_to_edit() -> None:
    """A plan made with the default mapping says how to change it: the mapping as
    ``reorg.yaml`` text, which reads back as the same mapping."""
    plan = _plan()
    text = render_markdown(plan).split("## The mapping, as `reorg.yaml`", 1)[1]
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]

    def entries(mapping: ReorgMapping) -> list[tuple[str, str, str]]:
        return [(e.source, e.target, e.name) for e in mapping.entries]

    assert entries(parse_mapping(block)) == entries(plan.mapping) != []


def test_applied_snapshot_has_the_new_layout() -> None:
    snapshot = fixture_snapshot()
    after = apply_to_snapshot(snapshot, _plan())
    assert "Pulumi.yaml" not in after and "index.ts" not in after
    assert after["infrastructure/pulumi/frontend/Pulumi.yaml"].startswith(
        "name: orchestra-frontend"
    )
    assert (
        'StackReference("orchestra/orchestra-backend/dev")'
        in (after["infrastructure/pulumi/frontend/index.ts"])
    )
    assert (
        'StackReference("orchestra/orchestra-shared/dev")'
        in (after["infrastructure/pulumi/backend/__main__.py"])
    )
    assert "work-dir: infrastructure/pulumi/backend\n" in after[".github/workflows/ci.yml"]
    assert after["admin-interface/package.json"] == snapshot["admin-interface/package.json"]


def test_apply_to_a_changed_snapshot_is_refused() -> None:
    snapshot = fixture_snapshot() | {
        "deploy_lambda_labs.sh": "#!/bin/sh\ncd infrastructure/pulumi\n"
    }
    with pytest.raises(ReorgError, match=r"deploy_lambda_labs\.sh changed since the plan"):
        apply_to_snapshot(snapshot, _plan())


def test_destination_that_exists_is_refused_with_the_mapping_line() -> None:
    snapshot = fixture_snapshot() | {"docs/Pulumi.dev.yaml": "config: {}\n"}
    text = "org: o\nprojects:\n  - source: legacy/infra/dev\n    target: docs\n    name: d\n"
    with pytest.raises(ConfigError, match=r"reorg\.yaml:3: target 'docs/Pulumi.dev.yaml' already"):
        build_plan(snapshot, parse_mapping(text))


def test_markdown_lists_operations_diffs_state_commands_and_the_4a_explanation() -> None:
    plan = _plan()
    markdown = render_markdown(plan)
    assert "## Operations (29)" in markdown
    assert "1. move `legacy/infra/dev/Pulumi.dev.yaml`" in markdown
    assert "--- a/index.ts\n+++ b/infrastructure/pulumi/frontend/index.ts" in markdown
    assert (
        "pulumi stack rename orchestra/orchestra-backend/prod --stack orchestra/lambda-infra/prod"
        in markdown
    )
    assert "Pulumi.<name>.yaml as the configuration of the stack" in markdown
    assert len(state_commands(plan)) == 2 * len(plan.renames) == 10


def test_unified_diff_shows_only_the_changed_lines() -> None:
    rewrite = next(
        op for op in _plan().operations if isinstance(op, Rewrite) and op.path.endswith("index.ts")
    )
    diff = unified_diff(rewrite, "index.ts")
    lines = diff.splitlines()
    changed = [x for x in lines if x[:1] in "+-" and not x.startswith(("+++", "---"))]
    assert changed == [
        '-const backend = new pulumi.StackReference("orchestra/lambda-infra/dev");',
        '+const backend = new pulumi.StackReference("orchestra/orchestra-backend/dev");',
    ]


def test_mapping_that_keeps_a_project_in_place_still_renames_it() -> None:
    snapshot = fixture_snapshot()
    entry = "  - source: legacy/infra/dev\n    target: legacy/infra/dev\n    name: old-dev\n"
    text = "org: orchestra\nprojects:\n" + entry
    plan = build_plan(snapshot, parse_mapping(text))
    assert not [op for op in plan.operations if isinstance(op, Move)]
    assert {op.path for op in plan.operations} == {
        "legacy/infra/dev/Pulumi.yaml",
        "legacy/infra/dev/Pulumi.dev.yaml",
    }


def test_moving_only_the_parent_leaves_the_nested_project_in_place() -> None:
    snapshot = fixture_snapshot()
    entry = "  - source: legacy/infra\n    target: infra/shared\n    name: shared\n"
    plan = build_plan(snapshot, parse_mapping("org: orchestra\nprojects:\n" + entry))
    sources = {op.src for op in plan.operations if isinstance(op, Move)}
    assert sources == {
        "legacy/infra/Pulumi.yaml",
        "legacy/infra/Pulumi.dev.yaml",
        "legacy/infra/__main__.py",
    }
    after = apply_to_snapshot(snapshot, plan)
    assert after["legacy/infra/dev/Pulumi.yaml"] == snapshot["legacy/infra/dev/Pulumi.yaml"]
    assert 'StackReference("orchestra/shared/dev")' in after["infrastructure/pulumi/__main__.py"]


def test_root_python_project_with_a_main_directory_moves_that_directory() -> None:
    snapshot = {
        "Pulumi.yml": "name: app\nruntime: python\nmain: src/\n",
        "Pulumi.dev.yaml": "config:\n  app:size: '1'\n",
        "src/__main__.py": "import pulumi\n",
        "src/lib/helpers.py": "X = 1\n",
        "tools/other.py": "Y = 2\n",
        "Makefile": "preview:\n\tcd src && pulumi preview\n",
    }
    text = "org: acme\nprojects:\n  - source: .\n    target: infra/app\n    name: acme-app\n"
    plan = build_plan(snapshot, parse_mapping(text))
    moves = {op.src: op.dst for op in plan.operations if isinstance(op, Move)}
    assert moves == {
        "Pulumi.yml": "infra/app/Pulumi.yml",
        "Pulumi.dev.yaml": "infra/app/Pulumi.dev.yaml",
        "src/__main__.py": "infra/app/src/__main__.py",
        "src/lib/helpers.py": "infra/app/src/lib/helpers.py",
    }
    after = apply_to_snapshot(snapshot, plan)
    assert after["infra/app/Pulumi.dev.yaml"] == "config:\n  acme-app:size: '1'\n"
    assert after["tools/other.py"] == "Y = 2\n"


def test_markdown_can_list_what_discovery_found() -> None:
    snapshot = fixture_snapshot()
    found = discover(snapshot)
    markdown = render_markdown(build_plan(snapshot, default_mapping(found)), found)
    assert "| `legacy/infra/dev` | `legacy-dev` | python | dev |" in markdown
    assert "- `index.ts:15` StackReference `orchestra/lambda-infra/dev`" in markdown
    assert "- `.github/workflows/ci.yml:58` work-dir `infrastructure/pulumi`" in markdown


def test_a_path_built_from_parent_parts_in_a_moved_program_is_a_manual_check() -> None:
    """Found from outside: os.path.join(dirname(__file__), "..", "..", base, "gpu-api")
    leads elsewhere once the program sits deeper; a plain "../x" literal was the only
    form listed."""
    snapshot = {
        "legacy/datastore/Pulumi.yaml": "name: datastore\nruntime: python\n",
        "legacy/datastore/__main__.py": (
            "import os\nbase = 'ops'\n"
            "here = os.path.join(os.path.dirname(__file__), '..', '..', base, 'gpu-api')\n"
        ),
        "legacy/web/Pulumi.yaml": "name: web\nruntime: nodejs\n",
        "legacy/web/index.ts": (
            "const p = path.join(__dirname, `../`, 'x')\n"
            "const q = `${__dirname}/../shared-config/x.json`\n"
        ),
        "legacy/datastore/paths.py": (
            "import pathlib\nroot = pathlib.Path(__file__).parent.parent / 'shared-config'\n"
        ),
        "ops/gpu-api/schema.sql": "create table t (id int);\n",
    }
    text = (
        "org: acme\nprojects:\n  - source: legacy/datastore\n"
        "    target: infrastructure/pulumi/backend/datastore\n    name: datastore\n"
        "  - source: legacy/web\n    target: infrastructure/pulumi/frontend/web\n    name: web\n"
    )
    plan = build_plan(snapshot, parse_mapping(text))
    listed = {(c.path, c.line): c.reason for c in plan.manual}
    assert set(listed) == {
        ("infrastructure/pulumi/backend/datastore/__main__.py", 3),
        ("infrastructure/pulumi/backend/datastore/paths.py", 2),
        ("infrastructure/pulumi/frontend/web/index.ts", 1),
        ("infrastructure/pulumi/frontend/web/index.ts", 2),
    }
    assert (
        "builds a path from parts with '..'"
        in listed[("infrastructure/pulumi/backend/datastore/__main__.py", 3)]
    )


def test_a_placeholder_name_is_refused_and_nodejs_alone_is_no_frontend() -> None:
    """Found on pulumi/templates: `name: ${PROJECT}` became orchestra-legacy-${PROJECT}
    (a mapping the tool's own reader refuses), and the first Node.js project was taken
    for the Vercel frontend with nothing saying so."""
    snapshot = {
        "aiven-typescript/Pulumi.yaml": "name: ${PROJECT}\nruntime: nodejs\n",
        "aiven-typescript/index.ts": "export {}\n",
        "queue/Pulumi.yaml": "name: queue\nruntime: nodejs\ndescription: SQS workers\n",
        "site/Pulumi.yaml": "name: site\nruntime: python\ndescription: the Vercel web app\n",
    }
    discovery = discover(snapshot)
    mapping = default_mapping(discovery)
    plan = build_plan(snapshot, mapping)
    assert plan.refused == (
        "aiven-typescript stays where it is: its project file names it '${PROJECT}', which "
        "is not a Pulumi project name (a template placeholder?); name it, then plan again",
    )
    targets = {e.source: e.target for e in plan.mapping.entries}
    assert targets == {
        "queue": "infrastructure/pulumi/legacy/queue",
        "site": "infrastructure/pulumi/frontend",
    }
    parse_mapping(render_mapping(plan.mapping))  # what it would write reads back


def test_a_role_word_must_be_a_word_not_part_of_one() -> None:
    """Found from outside: payments-relay ("Relays Stripe webhooks") became the Vercel
    frontend through "web" in "webhooks", feedback-store the shared stack through "db"."""
    snapshot = {
        "relay/Pulumi.yaml": (
            "name: payments-relay\nruntime: nodejs\ndescription: Relays Stripe webhooks\n"
        ),
        "feedback/Pulumi.yaml": "name: feedback-store\nruntime: python\n",
        "site/Pulumi.yaml": "name: site\nruntime: nodejs\ndescription: Frontends and their CDN\n",
    }
    targets = {e.source: e.target for e in default_mapping(discover(snapshot)).entries}
    assert targets == {
        "feedback": "infrastructure/pulumi/legacy/feedback-store",
        "relay": "infrastructure/pulumi/legacy/payments-relay",
        "site": "infrastructure/pulumi/frontend",
    }
