"""The generated infrastructure CI workflow: schema-valid, pinned, ordered, no secrets."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.infrastructure_workflow import infrastructure_workflow

PROJECTS = ["infrastructure/pulumi/shared", "infrastructure/pulumi/backend"]


def test_valid_against_the_github_workflow_schema() -> None:
    """check-jsonschema's vendored schema accepts it."""
    document = YAML(typ="safe").load(infrastructure_workflow(PROJECTS))
    assert validate_config("github-workflows", document) == []


def test_preview_dev_on_pull_requests_and_up_prod_on_main_in_order() -> None:
    """Shared comes before backend, which reads it through a StackReference."""
    document = YAML(typ="safe").load(infrastructure_workflow(PROJECTS))
    preview, up = document["jobs"]["preview-dev"], document["jobs"]["up-prod"]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert up["if"] == "github.ref == 'refs/heads/main'"
    pulumi_steps = [s["with"] for s in up["steps"] if "pulumi/actions" in s.get("uses", "")]
    assert [(s["command"], s["stack-name"], s["work-dir"]) for s in pulumi_steps] == [
        ("up", "prod", PROJECTS[0]),
        ("up", "prod", PROJECTS[1]),
    ]


def test_actions_pinned_and_credentials_from_secrets() -> None:
    """Every uses: is a full commit SHA; tokens only as ${{ secrets.* }}."""
    text = infrastructure_workflow(PROJECTS)
    assert all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in re.findall(r"uses: (\S+)", text))
    assert "PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}" in text
    with pytest.raises(ValueError, match="at least one"):
        infrastructure_workflow([])
