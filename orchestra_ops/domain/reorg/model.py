"""Domain types of the Pulumi reorganisation: what was found, what is asked, what will be done.

A *snapshot* is the target repo as ``{relative posix path: text}``; the caller reads it,
these modules never touch a disk. A project's directory is ``""`` at the repo root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from orchestra_ops.domain.outcomes import RunOutcome

Snapshot = Mapping[str, str]

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


def join(directory: str, name: str) -> str:
    """``directory/name``, where the repo root is ``""``."""
    return f"{directory}/{name}" if directory else name


def parent(path: str) -> str:
    """The directory part of a relative path (``""`` at the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def is_under(path: str, directory: str) -> bool:
    """True when ``path`` lies inside ``directory`` (everything lies inside the root)."""
    return directory == "" or path.startswith(directory + "/")


def show_dir(directory: str) -> str:
    """A directory as people write it: ``.`` for the root."""
    return directory or "."


@dataclass(frozen=True)
class StackConfig:
    """One ``Pulumi.<stack>.yaml`` next to a project file, with its config keys in order."""

    stack: str
    path: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class StackRef:
    """A ``StackReference("...")`` found in code; ``target`` is the literal as written."""

    path: str
    line: int
    target: str


PathKind = Literal["work-dir", "working-directory", "paths", "cd", "local"]


@dataclass(frozen=True)
class PathRef:
    """A place in CI or a script that names a path (``work-dir``, ``paths``, ``cd``)."""

    path: str
    line: int
    kind: PathKind
    value: str


@dataclass(frozen=True)
class Project:
    """A Pulumi project as found: its file, identity, runtime and stacks."""

    directory: str
    project_file: str
    name: str
    runtime: str
    runtime_options: tuple[tuple[str, str], ...]
    description: str | None
    main: str | None
    stacks: tuple[StackConfig, ...]

    @property
    def is_root(self) -> bool:
        """True for a project whose Pulumi.yaml sits at the repo root."""
        return self.directory == ""


@dataclass(frozen=True)
class Discovery:
    """Everything the reorganisation needs to know about a repo, sorted."""

    projects: tuple[Project, ...]
    stack_refs: tuple[StackRef, ...]
    path_refs: tuple[PathRef, ...]

    def project_at(self, directory: str) -> Project | None:
        """The project whose Pulumi.yaml is in ``directory``, if any."""
        return next((p for p in self.projects if p.directory == directory), None)


@dataclass(frozen=True)
class MappingEntry:
    """One line of ``reorg.yaml``: move the project in ``source`` to ``target`` as ``name``."""

    source: str
    target: str
    name: str
    description: str | None = None
    line: int = 0


@dataclass(frozen=True)
class ReorgMapping:
    """The parsed ``reorg.yaml``: the organisation, the branch, and one entry per moved project."""

    org: str
    branch: str
    entries: tuple[MappingEntry, ...]
    source: str = "reorg.yaml"


@dataclass(frozen=True)
class Move:
    """Move one file (``git mv``) from ``src`` to ``dst``."""

    src: str
    dst: str
    kind: Literal["move"] = "move"


@dataclass(frozen=True)
class Rewrite:
    """Replace the text of ``path`` (its location after the moves) and say why."""

    path: str
    before: str
    after: str
    reason: str
    kind: Literal["rewrite"] = "rewrite"


Operation = Move | Rewrite


@dataclass(frozen=True)
class StackRename:
    """One stack whose state must follow its project's new name."""

    org: str
    old_project: str
    new_project: str
    stack: str
    directory: str


@dataclass(frozen=True)
class ManualCheck:
    """A reference the plan could not rewrite statically: where it is, as written, and why."""

    path: str  # where the file is after the moves
    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        """``path:line: `text`: reason``."""
        return f"{self.path}:{self.line}: `{self.text}`: {self.reason}"


@dataclass(frozen=True)
class Plan:
    """Every operation in order, the stack renames left to the engine, and notes for people.

    ``manual`` lists references a person must check after the moves; ``refused`` says
    which mapped projects were left in place and why (e.g. a symlink leading outside).
    """

    mapping: ReorgMapping
    operations: tuple[Operation, ...]
    renames: tuple[StackRename, ...]
    notes: tuple[str, ...] = field(default=())
    manual: tuple[ManualCheck, ...] = field(default=())
    refused: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ApplyResult:
    """The end of a run: its outcome, branch and commit, and what is left to do by hand."""

    outcome: RunOutcome  # APPLIED or STATE_MIGRATION_PENDING
    branch: str
    commit: str
    pending_commands: tuple[str, ...]
    changed: bool
    manual: tuple[ManualCheck, ...] = ()  # the plan's, kept through a crash and resume
    refused: tuple[str, ...] = ()
    operations: int = 0  # the plan's moves and rewrites
