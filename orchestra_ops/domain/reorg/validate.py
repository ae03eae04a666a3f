"""Check a layout after the reorganisation: projects parse, keys, programs and references agree.

With the plan, every static path of a script, Makefile, CI file (``cd`` chains, ``-C``,
``--cwd``, GitLab ``include: local``) and go.mod ``replace`` is followed again in the new
tree: one that leads where a moved file or directory used to be is a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestra_ops.domain.reorg.discover import ci_files, discover, owned_files
from orchestra_ops.domain.reorg.model import (
    Discovery,
    Move,
    Plan,
    Project,
    Snapshot,
    is_under,
    parent,
    show_dir,
)
from orchestra_ops.domain.reorg.paths import Layout, vanished
from orchestra_ops.domain.reorg.programs import replace_targets, retired_interpolations
from orchestra_ops.domain.reorg.rewrite import GLOB
from orchestra_ops.domain.reorg.scripts import follow
from orchestra_ops.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the new layout, where it is and what it means."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        """``path:line: message``."""
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The projects found in the new layout and every problem met."""

    projects: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def validate_layout(snapshot: Snapshot, plan: Plan | None = None) -> ValidationReport:
    """Validate ``snapshot`` (the tree after a plan); with ``plan``, also check its targets."""
    try:
        discovery = discover(snapshot)
    except ConfigError as error:
        where = (error.source or "?:1").rsplit(":", 1)
        line = int(where[1]) if len(where) == 2 and where[1].isdigit() else 1
        return ValidationReport((), (Problem(where[0], line, str(error)),))
    problems: list[Problem] = []
    retired = {r.old_project for r in plan.renames} if plan else set()
    if plan is not None:
        problems += _targets(discovery, plan)
    names = {p.name for p in discovery.projects}
    for project in discovery.projects:
        problems += _config_keys(project, (names | retired) - {project.name})
        if project.runtime == "python":
            problems += _compiles(project, discovery, snapshot)
    problems += _references(discovery, names)
    problems += _interpolations(discovery, snapshot, retired)
    if plan is not None:
        problems += _dangling(snapshot, plan)
    return ValidationReport(tuple(sorted(names)), tuple(problems))


def _interpolations(discovery: Discovery, snapshot: Snapshot, retired: set[str]) -> list[Problem]:
    """YAML programs interpolating config of a project name the reorganisation retired."""
    problems = []
    for project in discovery.projects:
        if project.runtime == "yaml":
            text = snapshot[project.project_file]
            for line, name in retired_interpolations(project.project_file, text, retired):
                message = f"interpolates config of {name!r}, a project name that no longer exists"
                problems.append(Problem(project.project_file, line, message))
    return problems


def _dangling(snapshot: Snapshot, plan: Plan) -> list[Problem]:
    """Paths in scripts, Makefiles, CI files and go.mod that lead where a moved file was."""
    moves = [op for op in plan.operations if isinstance(op, Move)]
    before = (set(snapshot) - {m.dst for m in moves}) | {m.src for m in moves}
    gone = set(vanished(Layout(frozenset(before), {m.src: m.dst for m in moves})))
    here = Layout(frozenset(snapshot))
    found: list[tuple[str, int, str, str]] = []
    arrived = {m.dst for m in moves}
    for path in ci_files(snapshot):
        for line, text, target, directory in follow(path, snapshot[path], here).dangling:
            # A moved script's directory argument that climbs out of its folder to nothing
            # (unless the script makes that directory itself).
            made = f"mkdir -p {text}" in snapshot[path] or f"mkdir {text}" in snapshot[path]
            if directory and path in arrived and not is_under(target, parent(path)) and not made:
                gone.add(target)
            found.append((path, line, text, target))
    for path in sorted(p for p in snapshot if p.rsplit("/", 1)[-1] == "go.mod"):
        missing = [(n, t) for n, t in replace_targets(path, snapshot[path]) if not here.existed(t)]
        if path in arrived:  # a moved go.mod's replace target must exist
            gone |= {t for _, t in missing}
        found += [(path, n, t, t) for n, t in missing]
    listed = {(check.path, check.line) for check in plan.manual}  # already a hand edit
    return [
        Problem(path, line, f"`{text}` leads to {target!r}, which the reorganisation moved away")
        for path, line, text, target in found
        if target in gone and not here.existed(target) and (path, line) not in listed
    ]


def _targets(discovery: Discovery, plan: Plan) -> list[Problem]:
    problems = []
    for entry in plan.mapping.entries:
        project = discovery.project_at(entry.target)
        if project is None or project.name != entry.name:
            found = "nothing" if project is None else f"project {project.name!r}"
            message = f"expected project {entry.name!r} in {show_dir(entry.target)}, found {found}"
            problems.append(Problem(plan.mapping.source, entry.line, message))
    return problems


def _config_keys(project: Project, foreign: set[str]) -> list[Problem]:
    problems = []
    for stack in project.stacks:
        for key in stack.keys:
            namespace = key.split(":", 1)[0] if ":" in key else None
            if namespace in foreign:
                message = f"key {key!r} is namespaced {namespace!r}, not {project.name!r}"
                problems.append(Problem(stack.path, 1, message))
    return problems


def _compiles(project: Project, discovery: Discovery, snapshot: Snapshot) -> list[Problem]:
    problems = []
    for path in owned_files(project, discovery, snapshot):
        if path.endswith(".py"):
            try:
                compile(snapshot[path], path, "exec", dont_inherit=True)
            except SyntaxError as error:
                problems.append(Problem(path, error.lineno or 1, f"does not compile: {error.msg}"))
    return problems


def _references(discovery: Discovery, names: set[str]) -> list[Problem]:
    problems = []
    for ref in discovery.stack_refs:
        parts = ref.target.split("/")
        if len(parts) == 1:
            continue  # a stack of the referring program's own project
        project = parts[1] if len(parts) == 3 else parts[0]
        if GLOB.search(project):
            continue  # computed at run time: nothing to check statically
        if len(parts) != 3:
            message = f"StackReference {ref.target!r} is not fully qualified (org/project/stack)"
            problems.append(Problem(ref.path, ref.line, message))
        elif project not in names:
            message = f"StackReference {ref.target!r} names no project of the new layout"
            problems.append(Problem(ref.path, ref.line, message))
    return problems
