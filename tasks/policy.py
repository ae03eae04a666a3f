"""How tasks are made: the retry policy and the two kinds of side-effecting task.

Retries belong to Prefect; adapters never loop. Only transient errors (5xx, timeouts,
429) are retried: a 404, a refused request or a bad credential fails at once.
Side-effecting tasks never cache and never persist their results (some carry env
values or other secrets), so nothing of theirs reaches result storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Task, get_run_logger
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.exceptions import MissingContextError
from prefect.tasks import exponential_backoff

from orchestra_ops.errors import is_transient

P = ParamSpec("P")
R = TypeVar("R")

#: Attempts after the first, for calls to cloud APIs.
CLOUD_RETRIES = 4
#: Backoff between attempts: 2, 4, 8, 16 s, with jitter so parallel runs spread out.
CLOUD_RETRY_DELAYS = exponential_backoff(backoff_factor=2)
CLOUD_RETRY_JITTER = 0.5


def retry_only_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect ``retry_condition_fn``: retry when the failure is a transient OpsError."""
    try:
        state.result(raise_on_failure=True)
    except Exception as error:  # whatever the task raised is classified here
        return is_transient(error)
    return False


def local_task(fn: Callable[P, R]) -> Task[P, R]:
    """A task with a local side effect (files, subprocesses): no cache, no stored result."""
    return Task(fn=fn, cache_policy=NO_CACHE, persist_result=False)


def cloud_task(fn: Callable[P, R]) -> Task[P, R]:
    """A task calling a cloud API: like :func:`local_task`, retried on transient errors."""
    return Task(
        fn=fn,
        cache_policy=NO_CACHE,
        persist_result=False,
        retries=CLOUD_RETRIES,
        retry_delay_seconds=CLOUD_RETRY_DELAYS,
        retry_jitter_factor=CLOUD_RETRY_JITTER,
        retry_condition_fn=retry_only_transient,
    )


def final_state(state: State[Any], returns: type[R]) -> R:
    """Return this from a flow to end the run in ``state`` (e.g. ``Failed(name=...)``).

    Prefect takes a State returned by a flow as the run's final state, and a caller of
    the flow gets the state's data raised (or returned), never the State itself; so the
    flow keeps its declared return type ``returns`` for callers.
    """
    return cast(R, state)


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key: lower case letters, digits and dashes."""
    return "-".join("".join(c if c.isalnum() else "-" for c in p.lower()) for p in parts)


def run_logger(fallback: str) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a run; the ``fallback`` logger outside one."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(fallback)
