"""The chaos tests' faults are ridden out with the product's retries, on shorter waits."""

from __future__ import annotations

from tests.retry_waits import short_retry_waits  # noqa: F401 - autouse for every chaos test
