"""The generated deploy-frontends workflow: schema-valid, pinned, filtered per app."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.frontend.workflow import deploy_frontends_workflow

APPS = {"admin-interface": "VERCEL_ADMIN_PROJECT_ID", "dashboard": "VERCEL_DASHBOARD_PROJECT_ID"}


def test_workflow_is_valid_against_the_github_schema() -> None:
    """check-jsonschema's vendored github-workflows schema accepts it."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    assert validate_config("github-workflows", document) == []


def test_each_app_deploys_only_when_its_directory_changed() -> None:
    """Per-app jobs gated on the changes job; project ids from repository secrets."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    jobs = document["jobs"]
    assert jobs["deploy-admin-interface"]["if"] == "needs.changes.outputs.admin_interface == 'true'"
    deploy = next(s for s in jobs["deploy-dashboard"]["steps"] if s.get("name") == "vercel deploy")
    assert deploy["env"]["VERCEL_PROJECT_ID"] == "${{ secrets.VERCEL_DASHBOARD_PROJECT_ID }}"
    assert document["on"]["push"]["paths"] == ["admin-interface/**", "dashboard/**"]


def test_the_cli_comes_from_the_apps_lockfile_and_only_vercel_steps_hold_secrets() -> None:
    """npm ci, then the lockfile's CLI; the build step (the app's scripts) gets no secret."""
    document = YAML(typ="safe").load(deploy_frontends_workflow(APPS))
    for name in ("deploy-admin-interface", "deploy-dashboard"):
        job = document["jobs"][name]
        assert "env" not in job
        runs = [s.get("run", "") for s in job["steps"]]
        assert "npm ci" in runs and not any("npm install --global" in r for r in runs)
        for step in job["steps"]:
            given = set(step.get("env", {}))
            run = step.get("run", "")
            if run.startswith(("node_modules/.bin/vercel pull", "node_modules/.bin/vercel deploy")):
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
