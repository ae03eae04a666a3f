"""Writing files so that a reader never sees half of one, and putting texts back."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write ``text`` next to ``path`` and rename it into place; ``private``: mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    mode = 0o600 if private else 0o666
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


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
