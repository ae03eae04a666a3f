"""Writing files so that a reader never sees half of one, appending to logs durably, and
putting texts back."""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path


def write_atomically(
    path: Path, data: str | bytes, *, private: bool = False, durable: bool = False
) -> None:
    """Replace ``path`` all at once: a kill leaves the old or the new file, never half.

    The new bytes (text as UTF-8) are staged at :func:`temp_path` and renamed into place.
    ``private``: mode 0600; otherwise a file that exists keeps its mode (a script stays
    executable). ``durable``: the bytes and the rename are fsynced before returning. A kill
    before the rename can leave the staged file behind (:func:`discard_temp` removes it);
    an error removes it before it is raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    temp.unlink(missing_ok=True)  # a stale one would keep its own mode through O_TRUNC
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        if not private and path.exists():
            os.chmod(temp, path.stat().st_mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)  # the staged bytes may be a secret: never left behind
        raise
    if durable:
        fsync_dir(path.parent)


def append_line(path: Path, line: str, *, durable: bool = True, locked: bool = False) -> None:
    """Append one line (ending in a newline) to an append-only log file.

    ``durable``: the line, and the file's directory entry when this made the file, are
    fsynced before returning. ``locked``: under an exclusive ``flock``, for a file several
    processes append to. A kill mid-write can leave only the last line torn.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    with open(path, "a", encoding="utf-8") as handle:
        if locked:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        finally:
            if locked:
                fcntl.flock(handle, fcntl.LOCK_UN)
    if created and durable:
        fsync_dir(path.parent)


def temp_path(path: Path) -> Path:
    """Where :func:`write_atomically` stages the new bytes of ``path``."""
    return path.with_name(path.name + ".orchestra-tmp")


def discard_temp(path: Path) -> None:
    """Remove a staged file a killed :func:`write_atomically` left behind, if any."""
    temp_path(path).unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (a create, rename or unlink in it) durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_texts(directory: Path, relatives: Iterable[str]) -> dict[str, str | None]:
    """The current text of each file under ``directory`` (None: it does not exist)."""
    return {
        relative: (directory / relative).read_text(encoding="utf-8")
        if (directory / relative).exists()
        else None
        for relative in relatives
    }


def restore_texts(directory: Path, originals: Mapping[str, str | None]) -> None:
    """Put each file under ``directory`` back to its text; None removes the file."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: the directory to restore is gone")
    for relative, text in originals.items():
        path = directory / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            raise ValueError(f"{relative}: not a path inside {directory}")
        if text is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, text)


def create_once(path: Path, data: bytes) -> None:
    """Put ``data`` at ``path`` (0600) unless a file is there: written whole beside it, then
    linked into place, so processes starting together agree on the first one's file and
    none reads it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(staged, path)
    except FileExistsError:
        pass  # another process made it first: its file is the one
    finally:
        staged.unlink(missing_ok=True)
