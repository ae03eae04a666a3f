"""One run at a time per target, whether started by a deployment or a direct flow call.

A lock file per target in the shared state directory (``adapters/target_lock.py``):
released by the kernel when its holder dies, so a killed run frees its target at once.
Workers on several hosts need ``ORCHESTRA_STATE_DIR`` on storage with working ``flock``
(the ledger needs the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.runtime import flow_run

from orchestra_ops.adapters.target_lock import describe_holder, hold, lock_path
from orchestra_ops.settings import load_settings
from tasks.policy import run_logger

#: How long a run waits for another run of the same target before giving up.
WAIT_S = 3600.0


@contextmanager
def one_at_a_time(kind: str, target: str, wait_s: float = WAIT_S) -> Iterator[None]:
    """Hold the target for the block; a run that holds it is waited for."""
    logger = run_logger("orchestra_ops.serialise")
    path = lock_path(load_settings().runtime.state_dir, kind, target)

    def waiting(holder: str) -> None:
        logger.info("%s %s is held by %s: waiting (one run at a time)", kind, target, holder)

    with hold(path, describe_holder(flow_run.get_id()), wait_s=wait_s, on_wait=waiting):
        yield
