"""Track 4 as a flow: plan (no change), apply + validate, the literal 4A rename refused."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.stack_reorganisation import ReorgAction, ReorgParams, stack_reorganisation
from orchestra_ops.errors import ConfigError
from tests.tree import tree_hash

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }.items():
        monkeypatch.setenv(name, value)
    target = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, target)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "legacy"]):
        subprocess.run(["git", *args], cwd=target, check=True, env=os.environ)
    return target


def test_plan_changes_nothing(repo: Path) -> None:
    """The default: a plan artifact and an untouched tree."""
    before = tree_hash(repo)
    report = stack_reorganisation(ReorgParams(repo_path=str(repo)))
    assert (report.action, report.outcome) == ("plan", "planned")
    assert report.operations > 10
    # What the plan cannot rewrite reaches the report, with file and line.
    assert any(
        c.startswith("infrastructure/pulumi/backend/__main__.py:4: `../../deploy_lambda_labs.sh`")
        for c in report.manual_checks
    )
    assert report.refused == []
    assert tree_hash(repo) == before


def test_apply_moves_projects_and_leaves_state_migration_pending(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the Pulumi CLI the files move and the stack commands are listed."""
    monkeypatch.setenv("ORCHESTRA_PULUMI_CACHE", str(tmp_path / "no-pulumi-cache"))
    path = os.environ.get("PATH", "").split(os.pathsep)
    monkeypatch.setenv(
        "PATH", os.pathsep.join(d for d in path if not shutil.which("pulumi", path=d))
    )
    assert shutil.which("pulumi") is None
    report = stack_reorganisation(ReorgParams(repo_path=str(repo), action=ReorgAction.APPLY))
    assert report.outcome == "state migration pending"
    assert (repo / "infrastructure/pulumi/backend/Pulumi.yaml").exists()
    assert (repo / "infrastructure/pulumi/frontend/Pulumi.yaml").exists()
    assert any(c.startswith("pulumi stack rename") for c in report.pending_commands)
    applied = tree_hash(repo)
    again = stack_reorganisation(ReorgParams(repo_path=str(repo), action=ReorgAction.APPLY))
    assert (again.commit, again.branch) == (report.commit, report.branch)
    assert tree_hash(repo) == applied


def test_literal_4a_rename_is_refused_with_the_reason(repo: Path) -> None:
    """Pulumi.<name>.yaml is a stack config file; the flow says so and changes nothing."""
    before = tree_hash(repo)
    with pytest.raises(ConfigError, match="configuration of a stack"):
        stack_reorganisation(ReorgParams(repo_path=str(repo), literal_4a_rename=True))
    assert tree_hash(repo) == before
