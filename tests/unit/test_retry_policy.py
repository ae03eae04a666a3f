"""The shared retry policy, run by a real Prefect engine: transient errors only."""

from __future__ import annotations

import pytest
from prefect import flow, task

from orchestra_ops.errors import LambdaUnavailable, VercelNotFound
from tasks.policy import retry_only_transient

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_transient_errors_are_retried_until_success() -> None:
    """Two 5xx answers then success: the task completes on its third attempt."""
    attempts: list[int] = []

    @task(retries=3, retry_delay_seconds=0, retry_condition_fn=retry_only_transient)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise LambdaUnavailable("HTTP 502")
        return "ok"

    @flow
    def run() -> str:
        return flaky()

    assert run() == "ok"
    assert len(attempts) == 3


def test_permanent_errors_fail_at_once() -> None:
    """A 404 is not retried, however many retries the task allows."""
    attempts: list[int] = []

    @task(retries=3, retry_delay_seconds=0, retry_condition_fn=retry_only_transient)
    def missing() -> None:
        attempts.append(1)
        raise VercelNotFound("project prj_x does not exist")

    @flow
    def run() -> None:
        missing()

    with pytest.raises(VercelNotFound):
        run()
    assert len(attempts) == 1
