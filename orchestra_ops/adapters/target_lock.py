"""One run at a time per target (a Vercel project, a stack): an exclusive lock file.

The lock is an ``flock`` on ``<state dir>/locks/<target>.lock``, the same shared state
directory and the same kind of lock the ledger relies on. The kernel releases it the
moment its holder dies, SIGKILL included, so a crashed run never blocks the next one.
The file names the holder (process, host, run) for the waiting run's log line.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestra_ops.errors import Conflict


def lock_path(state_dir: Path, kind: str, target: str) -> Path:
    """Where the lock of one target lives."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{kind}-{target}")[:150]
    return state_dir / "locks" / f"{safe}.lock"


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "another run"
    except OSError:
        return "another run"


@contextmanager
def hold(
    path: Path,
    holder: str,
    *,
    wait_s: float,
    on_wait: Callable[[str], None] = lambda _: None,
    poll_s: float = 0.2,
    record: bool = True,
) -> Iterator[None]:
    """Hold the lock at ``path`` for the block; waits up to ``wait_s`` for its holder.

    ``record=False``: the lock file must exist, and is neither made nor written (the last
    holder's name stays in it)."""
    if record:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    else:
        descriptor = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    on_wait(_holder(path))
                    told = True
                if time.monotonic() > deadline:
                    raise Conflict(
                        f"{path.stem}: held by {_holder(path)} for over {wait_s:.0f} s; "
                        "try again once it has finished"
                    ) from None
                time.sleep(poll_s)
        if record:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, holder.encode("utf-8"), 0)
        try:
            yield
        finally:
            if record:
                os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def describe_holder(run: str | None) -> str:
    """``pid 123 on host, run <id>``: who holds a lock, for the waiting run's log."""
    who = f"pid {os.getpid()} on {socket.gethostname()}"
    return f"{who}, run {run}" if run else who


@contextmanager
def idle_target(
    state_dir: Path, lock: tuple[str, str] | None, *, dry_run: bool = False
) -> Iterator[None]:
    """Hold a target's lock for the block, as `recover`; Conflict at once when a live run
    holds it (None: no lock to take). A dry run makes and writes no lock file: where there
    is none, no run ever held that target, and one there keeps its last holder's name."""
    path = lock_path(state_dir, *lock) if lock is not None else None
    if path is None or (dry_run and not path.exists()):
        yield
        return
    with hold(path, describe_holder("recover"), wait_s=0, record=not dry_run):
        yield
