"""What a CLI killed with its worker leaves in a ``file://`` Pulumi backend.

- **Locks**: one JSON file per update that holds a stack (pid, host, time) under
  ``.pulumi/locks/<org>/<project>/<stack>/``. A killed CLI leaves its file behind, and
  every later update of the stack would be refused.
- **Torn sidecars**: the backend stores each file through gocloud's ``fileblob``, which
  writes the new content to a temporary file, then truncates and rewrites the
  ``<file>.attrs`` metadata sidecar, then renames the temporary file into place. A kill
  between the truncation and the rewrite leaves an empty sidecar next to the previous,
  intact checkpoint, and every later command fails with ``failed to load checkpoint:
  EOF``. ``fileblob`` reads a missing sidecar as default metadata, so removing the torn
  one makes the previous checkpoint readable again (its pending operations then say
  what the interrupted step was doing).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from orchestra_ops.adapters.pulumi.backend import file_backend_dir


def lock_files(backend_url: str | None, project: str, stack: str) -> list[Path]:
    """The lock files of a ``file://`` backend's stack (other backends: none visible)."""
    directory = file_backend_dir(backend_url)
    if directory is None or "?" in str(backend_url):
        return []
    root = directory / ".pulumi" / "locks"
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


def remove_lock(lock: Path) -> None:
    """Remove a lock file and its metadata sidecar."""
    lock.unlink(missing_ok=True)
    Path(f"{lock}.attrs").unlink(missing_ok=True)


def torn_sidecars(backend_url: str | None, project: str, stack: str) -> list[Path]:
    """Metadata sidecars of the stack's checkpoint (and of the backend's meta file) that a
    kill left empty or cut short; none while a live update holds the stack."""
    directory = file_backend_dir(backend_url)
    if directory is None or "?" in str(backend_url):
        return []
    root = directory / ".pulumi"
    name = stack.rsplit("/", 1)[-1]
    sidecars = [*sorted((root / "stacks" / project).glob(f"{name}.json*.attrs"))]
    sidecars.append(root / "meta.yaml.attrs")
    torn = [path for path in sidecars if path.is_file() and not _json_object(path)]
    locks = lock_files(backend_url, project, stack)
    return torn if torn and all(map(left_by_a_dead_process_here, locks)) else []


def _json_object(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False
