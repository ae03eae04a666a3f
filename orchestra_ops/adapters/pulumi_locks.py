"""Locks of a ``file://`` Pulumi backend, and which of them a dead CLI left.

The file backend keeps one JSON file per update that holds a stack (pid, host, time)
under ``.pulumi/locks/<org>/<project>/<stack>/``. A CLI killed with its worker (SIGKILL,
OOM) leaves its file behind, and every later update of the stack would be refused.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path


def lock_files(backend_url: str | None, project: str, stack: str) -> list[Path]:
    """The lock files of a ``file://`` backend's stack (other backends: none visible)."""
    if not backend_url or not backend_url.startswith("file://") or "?" in backend_url:
        return []
    root = Path(backend_url.removeprefix("file://")) / ".pulumi" / "locks"
    return sorted(root.glob(f"*/{project}/{stack.rsplit('/', 1)[-1]}/*.json"))


def stale_locks(backend_url: str | None, project: str, stack: str) -> list[Path]:
    """Lock files of a ``file://`` backend's stack left by dead CLIs on this host.

    A CLI killed with its worker (SIGKILL, OOM) leaves its lock behind, and every later
    update of the stack would be refused. All of them, or none: a lock of a live process
    or of another host means another update may be running.
    """
    found = lock_files(backend_url, project, stack)
    return found if found and all(map(left_by_a_dead_process_here, found)) else []


def left_by_a_dead_process_here(lock: Path) -> bool:
    """The lock names this host and a process that is gone (or a zombie: exited, unreaped)."""
    try:
        content = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(content, dict):
        return False
    pid = content.get("pid")
    if content.get("hostname") != socket.gethostname() or not isinstance(pid, int) or pid < 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """A CLI killed with its worker stays a zombie until its new parent reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]  # "pid (comm) STATE ..."
