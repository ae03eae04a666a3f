"""Parameter models more than one flow takes (shown as forms in the Prefect UI).

Every parameter model forbids fields it does not know (``extra="forbid"``), so its JSON
schema says ``additionalProperties: false`` and the Prefect server refuses a request
carrying a misspelt or unknown field before a run exists. Every field has a ``title``
written for the person at the run form, and no description holds ``<...>``: the UI
renders descriptions as Markdown, where an angle-bracket placeholder disappears.
``deployments/parameter_schemas.py`` closes the top level of each deployment's schema
and titles the flows' own parameters.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestra_ops.domain.health import HealthPolicy
from orchestra_ops.domain.lambda_cloud import REGION_NAMES
from orchestra_ops.domain.provisioning import Environment

#: Run-form titles of the flows' plain parameters. Prefect titles a flow parameter with its
#: Python name and a signature cannot carry a title without an annotation that Prefect's
#: by-value flow bundles cannot resolve, so ``deployments/parameter_schemas.py`` applies
#: these when it writes the deployed schema. (A parameter typed by one of the models
#: below shows the model's own title instead.)
PARAMETER_TITLES = {"infrastructure_dir": "Pulumi projects directory"}


class HealthParams(BaseModel):
    """How a deployment or an instance proves healthy."""

    model_config = ConfigDict(extra="forbid", title="Health check")

    consecutive: int = Field(
        3, ge=1, le=50, title="Good probes needed", description="good probes in a row to pass"
    )
    interval_s: float = Field(
        1.0, gt=0, le=60, title="Probe interval (seconds)", description="seconds between probes"
    )
    budget_s: float = Field(
        60.0, gt=0, le=3600, title="Time budget (seconds)", description="give up after this long"
    )
    latency_budget_s: float = Field(
        2.0,
        gt=0,
        le=60,
        title="Latency budget (seconds)",
        description="slower answers count as bad",
    )
    body_marker: str | None = Field(
        None,
        title="Body marker",
        description="text a healthy page must also contain (optional)",
    )
    fail_fast_after: int | None = Field(
        2,
        ge=1,
        le=50,
        title="Fail after bad probes",
        description="bad probes in a row that fail the gate at once",
    )
    api_probe: str | None = Field(
        "health",
        pattern=r"^[A-Za-z0-9._~/-]{1,200}$",
        title="API probe path",
        description="frontends: the path probed under each API prefix through the rewrite "
        "(health probes /api/health); empty: API routes are not probed, and the report "
        "says so",
    )

    def policy(self) -> HealthPolicy:
        """The domain policy."""
        return HealthPolicy(
            consecutive=self.consecutive,
            interval_s=self.interval_s,
            budget_s=self.budget_s,
            latency_budget_s=self.latency_budget_s,
            body_marker=self.body_marker,
            fail_fast_after=self.fail_fast_after,
        )


INSTANCE_TYPE_PATTERN = r"^(gpu|cpu)_[0-9]+x_[a-z0-9_]+$"
Region = Annotated[
    str,
    Field(pattern=r"^[a-z]+-[a-z]+-[0-9]+$", json_schema_extra={"enum": list(REGION_NAMES)}),
]


def _environment_rules(schema: dict[str, Any]) -> None:
    """The model validator's environment rules, in the JSON schema too.

    The Prefect server checks a request against the schema only, so without these a
    prod request with a time to live would be accepted and fail later on the worker.
    """
    schema["if"] = {"properties": {"environment": {"const": "dev"}}, "required": ["environment"]}
    schema["then"] = {
        "properties": {
            "approval_timeout_s": {"type": "null", "description": "only prod requests wait"}
        }
    }
    schema["else"] = {
        "properties": {"ttl_hours": {"type": "null", "description": "only dev environments expire"}}
    }


class ProvisioningParams(BaseModel):
    """Which environment to provision, and how. Empty fields keep the values in the
    backend stack's configuration; nothing changes before these are checked."""

    model_config = ConfigDict(
        extra="forbid", title="Provisioning request", json_schema_extra=_environment_rules
    )

    environment: Environment = Field(title="Environment", description="which stacks: dev or prod")
    instance_type: str | None = Field(
        None,
        pattern=INSTANCE_TYPE_PATTERN,
        title="Instance type",
        description="Lambda instance type (e.g. gpu_1x_a10); empty: the stack's config",
    )
    regions: list[Region] | None = Field(
        None,
        min_length=1,
        title="Regions",
        description="Lambda regions, most preferred first; empty: the stack's config",
    )
    count: int | None = Field(
        None,
        ge=1,
        le=16,
        title="Instance count",
        description="how many API instances; empty: the stack's config",
    )
    dry_run: bool = Field(False, title="Dry run", description="preview only: change nothing")
    ttl_hours: float | None = Field(
        None,
        gt=0,
        le=336,
        title="Time to live (hours, dev only)",
        description="dev only: destroy the instances after this long",
    )
    max_usd_per_hour: float = Field(
        25.0,
        gt=0,
        le=10_000,
        title="Cost ceiling (USD per hour)",
        description="refuse requests that would cost more per hour",
    )
    approval_timeout_s: int | None = Field(
        None,
        ge=2,
        le=7 * 24 * 3600,
        title="Approval timeout (seconds, prod only)",
        description="prod only: pause after the preview until someone approves in the UI; "
        "no answer within this many seconds rejects the request",
    )
    health: HealthParams = Field(
        default_factory=lambda: HealthParams(interval_s=2.0, budget_s=300.0, fail_fast_after=5),
        title="Health check of each new instance",
        description="how each new instance proves healthy",
    )
    infrastructure_dir: str = Field(
        "infrastructure/pulumi",
        title="Pulumi projects directory",
        description="holds the shared and backend projects, on the worker",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProvisioningParams:
        unknown = [r for r in self.regions or () if r not in REGION_NAMES]
        if unknown:
            raise ValueError(f"regions: unknown Lambda regions {unknown}")
        if self.ttl_hours is not None and self.environment != "dev":
            raise ValueError("ttl_hours: only dev environments expire")
        if self.approval_timeout_s is not None and self.environment != "prod":
            raise ValueError("approval_timeout_s: only prod requests wait for an approval")
        return self

    def overrides(self) -> dict[str, str]:
        """The backend stack config these parameters override."""
        values: dict[str, str] = {}
        if self.instance_type is not None:
            values["instance_type"] = self.instance_type
        if self.regions is not None:
            values["regions"] = json.dumps(self.regions)
        if self.count is not None:
            values["count"] = str(self.count)
        return values
