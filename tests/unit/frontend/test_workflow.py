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
    assert jobs["deploy-dashboard"]["env"]["VERCEL_PROJECT_ID"] == (
        "${{ secrets.VERCEL_DASHBOARD_PROJECT_ID }}"
    )
    assert document["on"]["push"]["paths"] == ["admin-interface/**", "dashboard/**"]


def test_every_action_is_pinned_to_a_commit_and_no_secret_is_inline() -> None:
    """uses: owner/action@<40 hex>; secrets only through ${{ secrets.* }}."""
    text = deploy_frontends_workflow(APPS)
    uses = re.findall(r"uses: (\S+)", text)
    assert uses and all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses)
    assert "--token=${{ secrets.VERCEL_TOKEN }}" in text


def test_no_apps_is_refused() -> None:
    """An empty workflow would silently deploy nothing."""
    with pytest.raises(ValueError, match="at least one app"):
        deploy_frontends_workflow({})
