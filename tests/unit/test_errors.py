"""The error tree: providers and kinds cross, and the docstring draws what exists."""

from __future__ import annotations

import inspect

import pytest

from orchestra_ops import errors
from orchestra_ops.errors import (
    Conflict,
    InsufficientCapacity,
    LambdaCloudError,
    LambdaRateLimited,
    LambdaUnavailable,
    NotFound,
    OpsError,
    RateLimited,
    TransientError,
    Unavailable,
    VercelError,
    VercelNotFound,
    VercelRateLimited,
    is_transient,
)


def _error_classes() -> list[type[OpsError]]:
    return [
        obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, OpsError)
    ]


def test_every_error_descends_from_the_root() -> None:
    """`except OpsError` catches everything the product raises on purpose."""
    classes = _error_classes()
    assert len(classes) > 20
    assert all(issubclass(cls, OpsError) for cls in classes)


def test_docstring_draws_every_class() -> None:
    """The drawing at the top of errors.py names every class, so it cannot go stale."""
    drawing = errors.__doc__ or ""
    missing = [cls.__name__ for cls in _error_classes() if cls.__name__ not in drawing]
    assert missing == []


@pytest.mark.parametrize(
    ("error", "provider", "kind"),
    [
        (VercelRateLimited("slow down", retry_after=3.0), VercelError, RateLimited),
        (VercelNotFound("no such project"), VercelError, NotFound),
        (LambdaUnavailable("502", code=None), LambdaCloudError, Unavailable),
        (errors.LambdaConflict("dup", code="global/duplicate"), LambdaCloudError, Conflict),
    ],
)
def test_provider_and_kind_both_catch(
    error: OpsError, provider: type[OpsError], kind: type[OpsError]
) -> None:
    """A provider error is caught both by its provider and by its kind."""
    assert isinstance(error, provider)
    assert isinstance(error, kind)


def test_rate_limits_carry_their_delay() -> None:
    """RateLimited keeps the advised wait, whichever provider raised it."""
    lam = LambdaRateLimited("429", code=None, retry_after=12.0)
    ver = VercelRateLimited("429", retry_after=2.5)
    assert (lam.retry_after, ver.retry_after) == (12.0, 2.5)
    assert isinstance(lam, TransientError)


def test_insufficient_capacity_carries_region_and_type_and_is_not_transient() -> None:
    """Capacity errors say where; retrying the same region is the caller's choice."""
    error = InsufficientCapacity("no capacity", region="us-west-1", instance_type="gpu_1x_a10")
    assert error.region == "us-west-1"
    assert error.instance_type == "gpu_1x_a10"
    assert error.code == "instance-operations/launch/insufficient-capacity"
    assert not is_transient(error)


def test_only_transient_errors_are_retryable() -> None:
    """5xx and 429 are worth a retry; 404, 409 and bad input are not."""
    assert is_transient(LambdaUnavailable("503"))
    assert is_transient(VercelRateLimited("429"))
    assert not is_transient(VercelNotFound("gone"))
    assert not is_transient(errors.VercelInvalidRequest("bad"))
    assert not is_transient(ValueError("not ours"))


def test_messages_name_what_failed() -> None:
    """Composite errors build their message from what they carry."""
    assert str(errors.DeploymentFailed("dpl_1", "ERROR", "npm run build exited 1")) == (
        "deployment dpl_1 ended in ERROR: npm run build exited 1"
    )
    assert "https://x/health" in str(errors.HealthCheckFailed("https://x/health", "HTTP 503"))
    missing = errors.ToolMissing("pulumi", disables="stack updates", install_hint="Install it.")
    assert str(missing) == "pulumi is not installed: stack updates. Install it."
