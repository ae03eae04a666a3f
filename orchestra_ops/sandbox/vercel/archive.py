"""Unpack a ``--archive=tgz`` upload: the CLI sends the source as one gzipped tarball,
split into ``.vercel/source.tgz.part1``, ``.part2``, ... (or one ``.vercel/source.tgz``),
and Vercel's build unpacks it before anything is served.

Pure: bytes in, ``{path: bytes}`` out. Only regular files are kept; a member whose path
is absolute or climbs out with ``..`` is refused, as are archives over the size limits.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import PurePosixPath

ARCHIVE_PREFIX = ".vercel/source.tgz"
_PART = re.compile(r"^\.vercel/source\.tgz(?:\.part(\d+))?$")
MAX_FILES = 20_000
MAX_BYTES = 512 * 1024 * 1024


class ArchiveError(ValueError):
    """The archive cannot be unpacked; the message names what is wrong."""


def archive_parts(paths: list[str]) -> list[str] | None:
    """The archive's part paths in order when ``paths`` is an archive upload, else None."""
    numbered: list[tuple[int, str]] = []
    for path in paths:
        match = _PART.match(path)
        if match is None:
            return None
        numbered.append((int(match.group(1) or 0), path))
    if not numbered:
        return None
    return [path for _, path in sorted(numbered)]


def unpack(parts: list[bytes]) -> dict[str, bytes]:
    """The files of the tarball made of ``parts`` (concatenated in order)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(b"".join(parts)), mode="r:gz") as tar:
            return _members(tar)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ArchiveError(
            f"{ARCHIVE_PREFIX} is not a readable gzipped tarball: {error}"
        ) from error


def _members(tar: tarfile.TarFile) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for member in tar:
        if not member.isfile():
            continue
        path = _safe_path(member.name)
        total += member.size
        if len(files) >= MAX_FILES or total > MAX_BYTES:
            raise ArchiveError(f"{ARCHIVE_PREFIX} holds more than {MAX_FILES} files or bytes")
        extracted = tar.extractfile(member)
        if extracted is None:
            continue
        files[path] = extracted.read()
    return files


def _safe_path(name: str) -> str:
    path = PurePosixPath(name.removeprefix("./"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArchiveError(f"{ARCHIVE_PREFIX} member {name!r} escapes the deployment's root")
    return str(path)
