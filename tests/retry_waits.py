"""Shorter waits between the retries of every task that retries: the same attempts, sooner.

The product waits 2, 4, 8 and 16 s between attempts at a cloud API (``tasks.policy``);
tests that inject transient faults check the attempts and what they leave, not the clock.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from prefect import Task

import tasks

WAIT_S = 0.2


def shorten_retry_waits(patch: pytest.MonkeyPatch) -> None:
    """Every retrying task of the ``tasks`` package waits :data:`WAIT_S` between attempts."""
    for info in pkgutil.iter_modules(tasks.__path__, f"{tasks.__name__}."):
        for task in vars(importlib.import_module(info.name)).values():
            if isinstance(task, Task) and task.retries:
                patch.setattr(task, "retry_delay_seconds", [WAIT_S] * task.retries)


@pytest.fixture(autouse=True)
def short_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a conftest that imports it: every test of its folder retries on short waits."""
    shorten_retry_waits(monkeypatch)
