"""Phase 2B generates infrastructure-ci.yml from the target repository's own Pulumi
projects (not Orchestra Ops' `infrastructure/pulumi/{shared,backend}`), in dependency
order, says what it cannot run, and keeps production secrets out of pull requests."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

from orchestra_ops.adapters.pulumi.ci import find_pulumi_projects
from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.infrastructure_workflow import (
    PREVIEW_ENVIRONMENT,
    PRODUCTION_ENVIRONMENT,
    PulumiProject,
    ci_coverage,
    infrastructure_workflow,
)
from orchestra_ops.domain.pulumi_ci_projects import pulumi_projects
from tasks.roadmap import write_infrastructure_workflow
from tests.unit import workflow_audit as audit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"
HASHED = "pulumi==3.113.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
PYTHON = "name: {name}\nruntime:\n  name: python\n"


def _repo(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def test_projects_come_in_stack_reference_order_not_path_order() -> None:
    """`a-api` reads `z-network`'s outputs, so z-network runs first although it sorts last."""
    snapshot = {
        "a-api/Pulumi.yaml": PYTHON.format(name="api"),
        "a-api/__main__.py": 'net = pulumi.StackReference(f"{org}/network/{stack}")\n',
        "a-api/requirements.txt": HASHED,
        "z-network/Pulumi.yaml": PYTHON.format(name="network"),
        "z-network/requirements.txt": "pulumi>=3\n",
        "web/Pulumi.yaml": "name: web\nruntime: nodejs\n",
        "web/package-lock.json": "",
        "old/Pulumi.yaml": PYTHON.format(name="old"),
        "tools/Pulumi.yaml": "name: tools\nruntime: go\n",
    }
    projects = pulumi_projects(snapshot)
    assert [p.name for p in projects] == ["old", "tools", "web", "network", "api"]
    covered, left_out = ci_coverage(projects)
    assert [p.directory for p in covered] == ["web", "a-api"]
    reasons = dict(left_out)
    assert "no hashes" in reasons["z-network"]
    assert "without requirements.txt" in reasons["old"]
    assert "'go' is not generated for" in reasons["tools"]


def test_the_demo_repository_gets_no_workflow_and_the_phase_says_why(tmp_path: Path) -> None:
    """The example's projects (unhashed requirements, none, no lockfile) cannot run in CI:
    the phase is skipped with each reason, not reported completed with a failing workflow."""
    repo = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    names = {p.directory for p in find_pulumi_projects(repo)}
    assert names == {".", "infrastructure/pulumi", "legacy/infra", "legacy/infra/dev"}
    result = write_infrastructure_workflow.fn("2B infrastructure workflow", str(repo))
    assert result.state == "skipped"
    assert "none of its 4 Pulumi projects can run in CI" in result.detail
    assert "infrastructure/pulumi: its requirements.txt has no hashes" in result.detail
    assert ".: a Node.js project without package-lock.json" in result.detail
    assert not (repo / ".github" / "workflows" / "infrastructure-ci.yml").exists()


def test_a_partly_covered_repository_gets_a_workflow_for_what_can_run(tmp_path: Path) -> None:
    """Only the project with hashed requirements runs; the other is named in the workflow
    and in the phase's detail; nothing of Orchestra Ops' own layout appears."""
    repo = _repo(
        tmp_path / "repo",
        {
            "infra/core/Pulumi.yaml": PYTHON.format(name="core"),
            "infra/core/requirements.txt": HASHED,
            "infra/edge/Pulumi.yaml": PYTHON.format(name="edge"),
            "infra/edge/requirements.txt": "pulumi>=3\n",
        },
    )
    result = write_infrastructure_workflow.fn("2B infrastructure workflow", str(repo))
    assert result.state == "completed"
    assert "runs infra/core; not covered: infra/edge: its requirements.txt has no hashes" in (
        result.detail
    )
    assert result.metrics == {"projects_covered": 1, "projects_not_covered": 1}
    text = (repo / ".github" / "workflows" / "infrastructure-ci.yml").read_text()
    assert "infrastructure/pulumi" not in text
    assert '#   "infra/edge": its requirements.txt has no hashes' in text
    document = YAML(typ="safe").load(text)
    assert validate_config("github-workflows", document) == []
    assert audit.all_problems(text) == []
    assert document["on"]["push"]["paths"] == ["infra/core/**"]


def test_pull_request_previews_never_hold_production_secrets() -> None:
    """Each job takes its secrets from its own GitHub environment: the prod job from the
    production environment (restricted to main), the preview job from a preview one."""
    text = infrastructure_workflow([PulumiProject("infra", "infra", "python", True)])
    jobs = YAML(typ="safe").load(text)["jobs"]
    assert jobs["up-prod"]["environment"] == PRODUCTION_ENVIRONMENT
    assert jobs["preview-dev"]["environment"] == PREVIEW_ENVIRONMENT
    assert PREVIEW_ENVIRONMENT != PRODUCTION_ENVIRONMENT
    assert jobs["preview-dev"]["if"] == "github.event_name == 'pull_request'"
    assert "github.event_name == 'push'" in jobs["up-prod"]["if"]
    assert f"{PRODUCTION_ENVIRONMENT} (deployment branches: main only)" in text
