"""The generated deploy-frontends workflow: schema-valid, pinned, filtered per app."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.frontend.workflow import deploy_frontends_workflow
from tests.unit import workflow_audit as audit

APPS = {"admin-interface": "VERCEL_ADMIN_PROJECT_ID", "dashboard": "VERCEL_DASHBOARD_PROJECT_ID"}


def test_workflow_is_valid_against_the_github_schema() -> None:
    """check-jsonschema's vendored github-workflows schema accepts it."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    assert validate_config("github-workflows", document) == []


def test_each_app_deploys_only_when_its_directory_changed() -> None:
    """Per-app jobs gated on the changes job; project ids from repository secrets."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    jobs = document["jobs"]
    for job in ("pull", "build", "deploy"):
        condition = jobs[f"{job}-admin-interface"]["if"]
        assert condition == "needs.changes.outputs.admin_interface == 'true'"
    deploy = next(
        s
        for s in jobs["deploy-dashboard"]["steps"]
        if s.get("name", "").startswith("vercel deploy")
    )
    assert deploy["env"]["VERCEL_PROJECT_ID"] == "${{ secrets.VERCEL_DASHBOARD_PROJECT_ID }}"
    assert document["on"]["push"]["paths"] == ["admin-interface/**", "dashboard/**"]


def test_the_cli_comes_from_the_apps_lockfile_and_only_vercel_steps_hold_secrets() -> None:
    """The lockfile's CLI, never a global install; only the vercel pull/deploy steps hold
    secrets, and only in jobs that run no package script."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    for app in ("admin-interface", "dashboard"):
        for kind in ("pull", "build", "deploy"):
            job = document["jobs"][f"{kind}-{app}"]
            assert "env" not in job
            runs = [s.get("run", "") for s in job["steps"]]
            assert ("npm ci" if kind == "build" else "npm ci --ignore-scripts") in runs
            assert not any("npm install --global" in r for r in runs)
            for step in job["steps"]:
                given = set(step.get("env", {}))
                run = step.get("run", "")
                if run.startswith(
                    ("node_modules/.bin/vercel pull", "node_modules/.bin/vercel deploy")
                ):
                    assert kind != "build"
                    assert given == {"VERCEL_ORG_ID", "VERCEL_PROJECT_ID", "VERCEL_TOKEN"}
                    assert '--token="$VERCEL_TOKEN"' in run
                else:
                    assert not given, step


def test_every_action_is_pinned_to_a_commit_and_no_secret_is_inline() -> None:
    """uses: owner/action@<40 hex>; secrets only through a step's env, never in a script."""
    text = deploy_frontends_workflow(APPS)
    uses = re.findall(r"uses: (\S+)", text)
    assert uses and all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses)
    assert "VERCEL_TOKEN: ${{ secrets.VERCEL_TOKEN }}" in text
    assert "--token=${{" not in text


def test_no_apps_is_refused() -> None:
    """An empty workflow would silently deploy nothing."""
    with pytest.raises(ValueError, match="at least one app"):
        deploy_frontends_workflow({})


def test_the_build_job_has_no_secret_and_hands_over_only_its_output() -> None:
    """build: no secret anywhere in the job, uploads .vercel/output; deploy: downloads it
    and runs `vercel deploy --prebuilt` after an install that runs no script."""
    text = deploy_frontends_workflow(APPS)
    jobs = YAML(typ="safe").load(text)["jobs"]
    build, deploy = jobs["build-dashboard"], jobs["deploy-dashboard"]
    assert "secrets." not in json.dumps(build)
    upload = next(s for s in build["steps"] if "upload-artifact" in s.get("uses", ""))
    download = next(s for s in deploy["steps"] if "download-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == download["with"]["name"] == "vercel-output-dashboard"
    assert upload["with"]["path"] == download["with"]["path"] == "dashboard/.vercel/output"
    assert upload["with"]["include-hidden-files"] is True
    assert deploy["needs"] == ["changes", "build-dashboard"]
    deploy_runs = [s["run"] for s in deploy["steps"] if "run" in s]
    assert not any("vercel build" in r or r == "npm ci" for r in deploy_runs)
    assert deploy_runs[-1].startswith("node_modules/.bin/vercel deploy --prebuilt")
    assert audit.all_problems(text) == []


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def _commit(repo: Path, path: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(f"{path} {len(list(repo.rglob('*')))}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", path)
    return _git(repo, "rev-parse", "HEAD")


def _changed_apps(repo: Path, before: str, after: str, tmp_path: Path) -> set[str]:
    """Run the generated changes script in ``repo`` as GitHub would; the apps it marks."""
    jobs = YAML(typ="safe").load(deploy_frontends_workflow(APPS))["jobs"]
    script = next(s["run"] for s in jobs["changes"]["steps"] if s.get("id") == "diff")
    output = tmp_path / f"output-{before[:7]}-{after[:7]}"
    output.write_text("")
    env = {"PATH": os.environ["PATH"], "BEFORE": before, "AFTER": after}
    subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=repo,
        env={**env, "GITHUB_OUTPUT": str(output)},
        check=True,
        capture_output=True,
    )
    return {line.split("=")[0] for line in output.read_text().splitlines()}


def test_changes_cover_the_whole_push_and_fall_back_to_every_app(tmp_path: Path) -> None:
    """A push of two commits where only the first touched dashboard still deploys it (the
    HEAD~1 diff missed it); a new branch (before = zeros) or a force push (before not in
    the history) deploys every app."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    base = _commit(repo, "README.md")
    _commit(repo, "dashboard/index.html")
    after = _commit(repo, "docs/notes.md")
    assert _changed_apps(repo, base, after, tmp_path) == {"dashboard"}
    assert _changed_apps(repo, "0" * 40, after, tmp_path) == {"admin_interface", "dashboard"}
    assert _changed_apps(repo, "f" * 40, after, tmp_path) == {"admin_interface", "dashboard"}
    assert _changed_apps(repo, "", after, tmp_path) == {"admin_interface", "dashboard"}


@pytest.mark.parametrize("app", ["../x", "a b", "a'b", "a\nb", "${{ github.token }}"])
def test_an_app_directory_that_could_break_the_workflow_is_refused(app: str) -> None:
    """App directories go into YAML, grep patterns and paths: only plain paths pass."""
    with pytest.raises(ValueError, match="app directory"):
        deploy_frontends_workflow({app: "VERCEL_X_PROJECT_ID"})
