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

from pydantic import BaseModel, ConfigDict, Field

from orchestra_ops.domain.health import HealthPolicy

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
