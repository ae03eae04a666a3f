"""The generated infrastructure CI workflow: schema-valid, pinned, ordered, credentials
only where Pulumi runs."""

from __future__ import annotations

import re

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.infrastructure_workflow import (
    PulumiCli,
    PulumiProject,
    infrastructure_workflow,
)

PROJECTS = [
    PulumiProject("infrastructure/pulumi/shared", "orchestra-shared", "python", True),
    PulumiProject("infrastructure/pulumi/backend", "orchestra-backend", "python", True),
]


def test_valid_against_the_github_workflow_schema() -> None:
    """check-jsonschema's vendored schema accepts it."""
    document = YAML(typ="safe").load(infrastructure_workflow(PROJECTS))
    assert validate_config("github-workflows", document) == []


def test_preview_dev_on_pull_requests_and_up_prod_on_main_in_order() -> None:
    """Shared comes before backend, which reads it through a StackReference."""
    document = YAML(typ="safe").load(infrastructure_workflow(PROJECTS))
    preview, up = document["jobs"]["preview-dev"], document["jobs"]["up-prod"]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert up["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    runs = [
        (s["run"], s["working-directory"]) for s in up["steps"] if "pulumi up" in s.get("run", "")
    ]
    assert runs == [
        ("pulumi up --yes --stack prod --non-interactive", PROJECTS[0].directory),
        ("pulumi up --yes --stack prod --non-interactive", PROJECTS[1].directory),
    ]
    previews = [s["run"] for s in preview["steps"] if "pulumi preview" in s.get("run", "")]
    assert previews == ["pulumi preview --stack dev --non-interactive"] * 2


def test_actions_pinned_and_credentials_only_on_the_pulumi_steps() -> None:
    """Every uses: is a full commit SHA; tokens only as ${{ secrets.* }}, on pulumi steps."""
    text = infrastructure_workflow(PROJECTS)
    assert all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in re.findall(r"uses: (\S+)", text))
    for job in YAML(typ="safe").load(text)["jobs"].values():
        assert "env" not in job
        for step in job["steps"]:
            holds = "PULUMI_ACCESS_TOKEN" in step.get("env", {})
            assert holds == step.get("run", "").startswith("pulumi "), step
            if holds:
                assert step["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
    with pytest.raises(ValueError, match="at least one"):
        infrastructure_workflow([])


def test_pulumi_cli_is_a_pinned_release_checked_against_its_sha256() -> None:
    """The archive of one version, verified before it is put on PATH; no pulumi/actions."""
    cli = PulumiCli("3.200.0", "f" * 64)
    document = YAML(typ="safe").load(infrastructure_workflow(PROJECTS, cli))
    for job in document["jobs"].values():
        install = next(s for s in job["steps"] if "PULUMI_SHA256" in s.get("env", {}))
        assert install["env"] == {
            "PULUMI_URL": "https://get.pulumi.com/releases/sdk/pulumi-v3.200.0-linux-x64.tar.gz",
            "PULUMI_SHA256": "f" * 64,
        }
        script = install["run"].splitlines()
        assert script.index(next(x for x in script if "sha256sum -c" in x)) < script.index(
            next(x for x in script if "GITHUB_PATH" in x)
        )
        assert not any("pulumi/actions" in s.get("uses", "") for s in job["steps"])
    install = next(
        s for s in document["jobs"]["up-prod"]["steps"] if "pip install" in s.get("run", "")
    )
    assert install["run"] == 'python -P -m pip install --require-hashes -r "$REQUIREMENTS"'
    assert install["env"] == {"REQUIREMENTS": "infrastructure/pulumi/shared/requirements.txt"}


@pytest.mark.parametrize(("version", "sha256"), [("latest", "f" * 64), ("3.1.0", "F" * 64)])
def test_a_pulumi_pin_is_an_exact_version_and_a_sha256(version: str, sha256: str) -> None:
    """No 'latest', no malformed checksum."""
    with pytest.raises(ValueError, match="Pulumi CLI"):
        PulumiCli(version, sha256)
