"""The chaos tests' faults are ridden out with the product's retries, on shorter waits."""

from __future__ import annotations

import pytest

from tests.retry_waits import shorten_retry_waits


@pytest.fixture(autouse=True)
def short_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    shorten_retry_waits(monkeypatch)
