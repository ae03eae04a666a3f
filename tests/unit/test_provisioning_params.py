"""A provisioning request is checked field by field before anything else happens."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flows.params import ProvisioningParams


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"environment": "staging"}, "environment"),
        ({"environment": "dev", "instance_type": "huge; rm -rf /"}, "instance_type"),
        ({"environment": "dev", "count": 0}, "count"),
        ({"environment": "dev", "regions": ["mars-north-1"]}, "regions"),
        ({"environment": "prod", "ttl_hours": 4}, "ttl_hours"),
        ({"environment": "dev", "max_usd_per_hour": -1}, "max_usd_per_hour"),
        ({"environment": "dev", "approval_timeout_s": 60}, "approval_timeout_s"),
    ],
)
def test_invalid_parameters_are_refused_naming_the_field(
    payload: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        ProvisioningParams.model_validate(payload)


def test_overrides_are_the_stack_config_the_request_changes() -> None:
    request = ProvisioningParams.model_validate(
        {"environment": "prod", "count": 3, "regions": ["us-east-1", "us-west-1"]}
    )
    assert request.overrides() == {"count": "3", "regions": '["us-east-1", "us-west-1"]'}
    assert ProvisioningParams(environment="dev").overrides() == {}
