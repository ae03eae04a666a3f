"""The retry policy every side-effecting task shares.

Retries belong to Prefect; adapters never loop. Only transient errors (5xx, timeouts,
429) are retried: a 404, a refused request or a bad credential fails at once.
"""

from __future__ import annotations

from typing import Any

from prefect.client.schemas.objects import State
from prefect.tasks import exponential_backoff

from orchestra_ops.errors import is_transient

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
