"""Parameter models more than one flow takes (shown as forms in the Prefect UI)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from orchestra_ops.domain.health import HealthPolicy


class HealthParams(BaseModel):
    """How a deployment or an instance proves healthy."""

    consecutive: int = Field(3, ge=1, le=50, description="good probes in a row to pass")
    interval_s: float = Field(1.0, gt=0, le=60, description="seconds between probes")
    budget_s: float = Field(60.0, gt=0, le=3600, description="give up after this long")
    latency_budget_s: float = Field(2.0, gt=0, le=60, description="slower answers count as bad")
    body_marker: str | None = Field(
        None, description="text a healthy page must also contain (optional)"
    )
    fail_fast_after: int | None = Field(
        2, ge=1, le=50, description="bad probes in a row that fail the gate at once"
    )
    api_probe: str | None = Field(
        "health",
        pattern=r"^[A-Za-z0-9._~/-]{1,200}$",
        description="frontends: the path probed under each API prefix through the rewrite "
        "(health: /api/health); unset: API routes are not probed, and the report says so",
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
