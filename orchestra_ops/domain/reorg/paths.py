"""Where every path of the repo is before and after the moves, and lexical path arithmetic.

Paths are repo-relative posix strings with ``""`` for the root; nothing here reads a disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from orchestra_ops.domain.reorg.model import ManualCheck, parent


def resolve(base: str, relative: str) -> str | None:
    """``base/relative`` normalised; None when it climbs above the repo root."""
    parts: list[str] = base.split("/") if base else []
    for part in relative.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def relative_to(target: str, base: str) -> str:
    """The relative path from directory ``base`` to ``target`` (``.`` when they are one)."""
    return posixpath.relpath(target or ".", base or ".")


def _dirs_of(files: Iterable[str]) -> frozenset[str]:
    dirs = {""}
    for path in files:
        while "/" in path:
            path = parent(path)
            dirs.add(path)
    return frozenset(dirs)


@dataclass(frozen=True)
class Layout:
    """The repo's files before the moves, and where each file and project directory goes."""

    before: frozenset[str]
    files: Mapping[str, str] = field(default_factory=dict)
    dirs: Mapping[str, str] = field(default_factory=dict)
    # Where a project at the repo root goes: ``--cwd .`` and ``work-dir: .`` follow it.
    root_project: str | None = None

    @cached_property
    def _before_dirs(self) -> frozenset[str]:
        return _dirs_of(self.before)

    @cached_property
    def _after(self) -> frozenset[str]:
        return frozenset(self.files.get(p, p) for p in self.before)

    @cached_property
    def _after_dirs(self) -> frozenset[str]:
        return _dirs_of(self._after)

    def new(self, path: str) -> str:
        """Where ``path`` (a file or a directory) is after the moves."""
        if path in self.files:
            return self.files[path]
        above = [d for d in self.dirs if d and (path == d or path.startswith(d + "/"))]
        if not above:
            return path
        longest = max(above, key=len)
        return self.dirs[longest] + path[len(longest) :]

    def existed(self, path: str) -> bool:
        """True when ``path`` named a file or a directory before the moves."""
        return path in self.before or path in self._before_dirs

    def exists_after(self, path: str) -> bool:
        """True when ``path`` names a file or a directory after the moves."""
        return path in self._after or path in self._after_dirs

    def moves_anything(self) -> bool:
        """True when at least one file changes place."""
        return any(src != dst for src, dst in self.files.items())


def vanished(layout: Layout) -> frozenset[str]:
    """Files and directories that existed before the moves and do not after."""
    gone = {p for p in layout.before if not layout.exists_after(p)}
    gone |= {d for d in layout._before_dirs if not layout.exists_after(d)}
    return frozenset(gone)


def link_checks(
    links: Mapping[str, str | None], layout: Layout, refused: set[str]
) -> list[ManualCheck]:
    """Symlinks inside the repo whose target no longer sits where the link leads after the move.

    ``links`` maps each tracked symlink to its repo-relative target (None: outside the
    repo, which ``refused`` already covers for moved projects).
    """
    checks = []
    for link, target in sorted(links.items()):
        if target is None or link in refused:
            continue
        new_link, new_target = layout.new(link), layout.new(target)
        if relative_to(target, parent(link)) != relative_to(new_target, parent(new_link)):
            reason = (
                f"symlink to {target!r}: after the move it must lead to {new_target!r} "
                f"(`ln -sfn {relative_to(new_target, parent(new_link))} {new_link}`)"
            )
            checks.append(ManualCheck(new_link, 1, link, reason))
    return checks
