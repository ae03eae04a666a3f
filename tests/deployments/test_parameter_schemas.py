"""Every deployment's parameter schema, as the server and the run form get it.

The schema is ``deployments/parameter_schemas.strict_schema`` of each flow ``prefect.yaml``
deploys (what `make deploy` leaves on the server); the server's own validator
(``prefect.utilities.schema_tools.validation.validate``) judges the requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.utilities.schema_tools.validation import ValidationError, validate
from pydantic import BaseModel
from pydantic import ValidationError as ModelError

from deployments.parameter_schemas import deployed_flows, strict_schema
from flows.frontend_migration import FrontendMigrationParams
from flows.params import HealthParams, ProvisioningParams
from flows.roadmap import RoadmapParams
from flows.security_scan import SecurityScanParams
from flows.stack_reorganisation import ReorgParams

SCHEMAS = {name: strict_schema(flow) for name, flow in deployed_flows().items()}
PROVISIONING = SCHEMAS["lambda-provisioning/lambda-provisioning"]


def _objects(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object under ``node`` with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{where}[{index}]")


def _fields(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(model, field name, field schema) of the top level and every definition."""
    models = {"Parameters": schema, **schema.get("definitions", {})}
    for model, body in models.items():
        for name, field in body.get("properties", {}).items():
            yield model, name, field  # a $ref's own title too: the v1 UI shows only that one


def test_every_deployed_flow_is_covered() -> None:
    assert sorted(SCHEMAS) == [
        "frontend-migration/frontend-migration",
        "lambda-provisioning/lambda-provisioning",
        "lambda-ttl-cleanup/lambda-ttl-cleanup",
        "roadmap/roadmap",
        "security-scan/weekly-security-scan",
        "stack-reorganisation/stack-reorganisation",
    ]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_no_description_holds_markup(name: str) -> None:
    """The v1 UI renders descriptions as Markdown (``<project>`` would vanish from the form),
    the default v2 UI shows them as they are (a backtick would show): plain text only."""
    bad = [
        f"{where}: {node['description']!r}"
        for where, node in _objects(SCHEMAS[name])
        if set(str(node.get("description", ""))) & set("<`")
    ]
    assert not bad, bad


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_object_refuses_unknown_fields(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema["additionalProperties"] is False
    open_objects = [
        where
        for where, node in _objects(schema)
        if node.get("type") == "object" and "properties" in node
        if node.get("additionalProperties") is not False
    ]
    assert not open_objects, open_objects


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_field_has_a_title_written_for_people(name: str) -> None:
    """Not missing, not Prefect's parameter name, not pydantic's "Ttl Hours"."""
    bad = []
    for model, field, body in _fields(SCHEMAS[name]):
        title = body.get("title")
        generated = {field, field.replace("_", " ").title()} if "_" in field else {field}
        if not title or title in generated:
            bad.append(f"{model}.{field}: {title!r}")
    assert not bad, bad


@pytest.mark.parametrize(
    "model",
    [
        HealthParams,
        ProvisioningParams,
        FrontendMigrationParams,
        RoadmapParams,
        SecurityScanParams,
        ReorgParams,
    ],
)
def test_every_model_field_sets_its_title(model: type[BaseModel]) -> None:
    """A one-word field's generated title ("Environment") looks written: ask the model."""
    assert model.model_config.get("extra") == "forbid"
    untitled = [name for name, field in model.model_fields.items() if not field.title]
    assert not untitled, untitled


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_form_objects_describe_themselves_for_the_person_filling_them(name: str) -> None:
    """A model's description is the form's header: no developer notes about the UI."""
    for model, body in SCHEMAS[name].get("definitions", {}).items():
        text = body.get("description", "")
        assert text and "Prefect UI" not in text and not text.startswith("Parameters of"), model


REFUSED = [  # (request, the field the server's answer must name, the words it must use)
    ({"params": {"environment": "dev", "colour": "blue"}}, "params", "'colour' was unexpected"),
    ({"params": {"environment": "dev"}, "priority": 1}, "$", "'priority' was unexpected"),
    ({"params": {"environment": "prod", "ttl_hours": 8}}, "params.ttl_hours", "type 'null'"),
    ({"params": {"environment": "dev", "approval_timeout_s": 60}}, "params.approval_timeout_s", ""),
    ({"params": {"environment": "dev", "regions": ["mars-north-1"]}}, "params.regions[0]", ""),
    ({"params": {"environment": "dev", "count": "two"}}, "params.count", ""),
    ({"params": {"environment": "dev", "health": {"interval": 1}}}, "params.health", ""),
    ({"params": {"environment": "staging"}}, "params.environment", "'staging'"),
]
ACCEPTED = [
    {"params": {"environment": "dev"}},
    {"params": {"environment": "dev", "ttl_hours": 8, "regions": ["us-east-1"], "count": 2}},
    {"params": {"environment": "prod", "approval_timeout_s": 600, "count": None}},
    {"params": {"environment": "prod", "ttl_hours": None, "health": {"consecutive": 2}}},
]


@pytest.mark.parametrize(("request_", "field", "words"), REFUSED)
def test_the_server_refuses_bad_provisioning_requests_naming_the_field(
    request_: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        validate(request_, PROVISIONING, raise_on_error=True)
    answer = str(refused.value)
    if field == "$":
        assert answer.startswith("Validation failed."), answer
    else:
        assert f"Validation failed for field '{field}'." in answer, answer
    assert words in answer


@pytest.mark.parametrize("request_", ACCEPTED)
def test_the_server_accepts_what_the_flow_accepts(request_: dict[str, Any]) -> None:
    validate(request_, PROVISIONING, raise_on_error=True)
    ProvisioningParams.model_validate(request_["params"])


@pytest.mark.parametrize(
    "request_",
    [r for r, _, _ in REFUSED if set(r) == {"params"}],  # a top-level key never reaches it
)
def test_the_flow_refuses_what_the_server_refuses(request_: dict[str, Any]) -> None:
    """The schema and the model agree: the worker never sees what the server let through."""
    with pytest.raises(ModelError):
        ProvisioningParams.model_validate(request_["params"])


def test_make_deploy_closes_the_schemas_right_after_prefect_deploy() -> None:
    """`prefect deploy` writes the open top level again each time: the next step closes it."""
    lines = (Path(__file__).resolve().parents[2] / "Makefile").read_text().splitlines()
    deploy = next(i for i, line in enumerate(lines) if "--no-prompt deploy --all" in line)
    assert lines[deploy + 1].strip() == "$(BIN)/python -m deployments.parameter_schemas"


SCAN = SCHEMAS["security-scan/weekly-security-scan"]


def test_part_of_the_scan_params_passes_the_server_and_the_flow() -> None:
    """The server merges top-level keys only: `{"params": {"fail_on_findings": false}}`
    replaces the deployment's params whole, so repo_path falls to the model's default,
    the weekly scan's default target (the Makefile's ORCHESTRA_TARGET_REPO)."""
    partial = {"params": {"fail_on_findings": False}}
    validate(partial, SCAN, raise_on_error=True)
    params = SecurityScanParams.model_validate(partial["params"])
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert f"ORCHESTRA_TARGET_REPO ?= {params.repo_path}\n" in makefile
    with pytest.raises(ValidationError, match="'colour' was unexpected"):
        validate({"params": {"fail_on_findings": False, "colour": 1}}, SCAN, raise_on_error=True)
