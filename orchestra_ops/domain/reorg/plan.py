"""Build the reorganisation plan: file moves, then one rewrite per touched file, then renames.

The crux is where projects sit: one project may be at the repo root and another
nested inside a third. So nothing moves a directory wholesale: every file moves on its
own (``owned_files`` says which belong to which project), a root project takes only
its own files, a parent never drags a nested project along, and nested projects are
listed first. A destination that already holds a file is refused.

Paths are followed in scripts, Makefiles and CI files (``scripts.py``), Go modules and
YAML programs (``programs.py``); what cannot be followed statically becomes a
``ManualCheck`` of the plan, and a project holding a symlink that leads outside the
repo is left in place with the reason in ``Plan.refused``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import replace

from orchestra_ops.domain.reorg.discover import CODE_SUFFIXES, ci_files, discover, owned_files
from orchestra_ops.domain.reorg.mapping import (
    NAME,
    WHY_NOT_STACK_FILE,
    check_mapping,
    render_mapping,
)
from orchestra_ops.domain.reorg.model import (
    Discovery,
    ManualCheck,
    MappingEntry,
    Move,
    Operation,
    Plan,
    Project,
    ReorgMapping,
    Rewrite,
    Snapshot,
    StackRename,
    is_under,
    join,
    show_dir,
)
from orchestra_ops.domain.reorg.paths import Layout, link_checks
from orchestra_ops.domain.reorg.programs import (
    module_renames,
    relative_literals,
    rewrite_go_mod,
    rewrite_imports,
    rewrite_yaml_program,
)
from orchestra_ops.domain.reorg.rewrite import (
    RefContext,
    rewrite_ci,
    rewrite_project_file,
    rewrite_stack_config,
    rewrite_stack_refs,
)
from orchestra_ops.errors import ConfigError, ReorgError

NOTES = (
    "Step 4A of the roadmap, read literally, renames each Pulumi.yaml to Pulumi.<name>.yaml. "
    + WHY_NOT_STACK_FILE.format(file="Pulumi.frontend.yaml", stack="frontend")
    + ". This plan carries out the intent instead: 4B's directories and 4A's project names.",
    "Only tracked files move; ignored ones (a virtualenv, node_modules) stay behind: "
    "recreate them in the new directories.",
    "Stack state keeps the old project name until the renames below run: do not `pulumi up` "
    "in the new layout before that, or Pulumi creates new, empty stacks.",
    "Relative paths in a moved program's code (e.g. `../../deploy_lambda_labs.sh` in a "
    "docstring) are not rewritten but listed under manual checks with the path to write; "
    "prose mentions of old project names are neither: review them.",
)


_PROGRAM_SUFFIXES = (".py", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".go")


def build_plan(
    snapshot: Snapshot, mapping: ReorgMapping, links: Mapping[str, str | None] | None = None
) -> Plan:
    """The ordered operations that turn ``snapshot`` into the mapped layout (deterministic).

    ``links`` maps each tracked symlink to its repo-relative target, None when it leads
    outside the repo: a mapped project holding such a link is refused (it stays, and the
    plan says why); the rest of the mapping is planned as usual.
    """
    links = links or {}
    discovery = discover(snapshot)
    check_mapping(mapping, discovery)
    mapping, refused = _refuse(snapshot, discovery, mapping, links)
    moves = _moves(snapshot, discovery, mapping)
    moved = {m.src: m.dst for m in moves}
    rewrites, manual = _rewrites(snapshot, discovery, mapping, moved)
    layout = _layout(snapshot, discovery, mapping, moved)
    manual += link_checks(links, layout, set())
    renames = tuple(
        StackRename(mapping.org, project.name, entry.name, stack.stack, entry.target)
        for entry, project in _pairs(mapping, discovery)
        if entry.name != project.name
        for stack in project.stacks
    )
    return Plan(mapping, (*moves, *rewrites), renames, NOTES, tuple(manual), tuple(refused))


def _refuse(
    snapshot: Snapshot,
    discovery: Discovery,
    mapping: ReorgMapping,
    links: Mapping[str, str | None],
) -> tuple[ReorgMapping, list[str]]:
    """The mapping without the projects that must stay where they are, and why each stays."""
    kept, refused = [], []
    for entry, project in _pairs(mapping, discovery):
        why = None
        if entry.target != entry.source:
            why = _why_it_stays(snapshot, discovery, project, links)
        if why is None:
            kept.append(entry)
        else:
            refused.append(f"{show_dir(entry.source)} stays where it is: {why}")
    return replace(mapping, entries=tuple(kept)), refused


def _why_it_stays(
    snapshot: Snapshot, discovery: Discovery, project: Project, links: Mapping[str, str | None]
) -> str | None:
    """Why ``project`` cannot move: a symlink leading outside the repo (a move would re-aim
    or break it), or a Pulumi.yaml name that is no project name (a template's
    ``${PROJECT}``: its config keys and references cannot be renamed)."""
    owned = owned_files(project, discovery, snapshot)
    outside = [p for p in owned if p in links and links[p] is None]
    if outside:
        return (
            f"{outside[0]} is a symlink leading outside the repo, and a move would re-aim or "
            "break it; replace the link by the files it points to (or remove it), then plan "
            "again"
        )
    if not NAME.match(project.name):
        return (
            f"its project file names it {project.name!r}, which is not a Pulumi project "
            "name (a template placeholder?); name it, then plan again"
        )
    return None


def _layout(
    snapshot: Snapshot, discovery: Discovery, mapping: ReorgMapping, moved: dict[str, str]
) -> Layout:
    finals = {e.source: e.target for e in mapping.entries}
    dirs = {p.directory: finals.get(p.directory, p.directory) for p in discovery.projects}
    root = finals.get("") if discovery.project_at("") is not None else None
    return Layout(frozenset(snapshot), moved, {d: t for d, t in dirs.items() if d}, root or None)


def _pairs(mapping: ReorgMapping, discovery: Discovery) -> list[tuple[MappingEntry, Project]]:
    pairs = []
    for entry in mapping.entries:
        project = discovery.project_at(entry.source)
        assert project is not None  # check_mapping refused unknown sources
        pairs.append((entry, project))
    return pairs


def _moves(snapshot: Snapshot, discovery: Discovery, mapping: ReorgMapping) -> list[Move]:
    # Deepest source first: a nested project is planned before the project around it.
    entries = sorted(
        mapping.entries, key=lambda e: (-e.source.count("/") - bool(e.source), e.source)
    )
    moves: list[Move] = []
    for entry in entries:
        project = discovery.project_at(entry.source)
        assert project is not None
        for src in owned_files(project, discovery, snapshot):
            relative = src[len(entry.source) + 1 :] if entry.source else src
            dst = join(entry.target, relative)
            if dst == src:
                continue
            if dst in snapshot:
                reason = f"target {dst!r} already exists; choose an empty target directory"
                raise ConfigError(f"{mapping.source}:{entry.line}: {reason}", source=mapping.source)
            moves.append(Move(src, dst))
    return moves


def _rewrites(
    snapshot: Snapshot, discovery: Discovery, mapping: ReorgMapping, moved: dict[str, str]
) -> tuple[list[Rewrite], list[ManualCheck]]:
    renames = {p.name: e.name for e, p in _pairs(mapping, discovery)}
    new_texts: dict[str, tuple[str, list[str]]] = {}
    manual: list[ManualCheck] = []

    def text_of(path: str) -> str:
        """The text of ``path`` with the rewrites so far (they compose into one per file)."""
        return new_texts.get(path, (snapshot[path], []))[0]

    def change(path: str, text: str, reason: str) -> None:
        """Record ``text`` as the new content of ``path``, with why."""
        if text != text_of(path):
            new_texts[path] = (text, [*new_texts.get(path, ("", []))[1], reason])

    for entry, project in _pairs(mapping, discovery):
        text = rewrite_project_file(
            text_of(project.project_file),
            project.project_file,
            entry.name,
            entry.description,
            project.name,
        )
        change(project.project_file, text, "project name and description")
        for stack in project.stacks:
            text = rewrite_stack_config(text_of(stack.path), stack.path, project.name, entry.name)
            change(stack.path, text, f"config keys {project.name}:* -> {entry.name}:*")
    known = frozenset(p.name for p in discovery.projects)
    for path in sorted(p for p in snapshot if p.endswith(CODE_SUFFIXES)):
        owner = _owner(path, discovery)
        own = None if owner is None else renames.get(owner.name, owner.name)
        context = RefContext(mapping.org, renames, known, own)
        change(path, rewrite_stack_refs(text_of(path), context, path), "StackReference targets")
    layout = _layout(snapshot, discovery, mapping, moved)
    manual += _program_rewrites(snapshot, discovery, layout, renames, text_of, change)
    for path in ci_files(snapshot):
        followed = rewrite_ci(text_of(path), path, layout)
        change(path, followed.text, "paths of moved projects")
        manual += followed.manual
    rewrites = [
        Rewrite(moved.get(path, path), snapshot[path], text, "; ".join(reasons))
        for path, (text, reasons) in new_texts.items()
    ]
    return sorted(rewrites, key=lambda r: r.path), manual


def _program_rewrites(
    snapshot: Snapshot,
    discovery: Discovery,
    layout: Layout,
    renames: dict[str, str],
    text_of: Callable[[str], str],
    change: Callable[[str, str, str], None],
) -> list[ManualCheck]:
    """Go modules (replace targets, module paths and imports) and YAML programs."""
    modules = module_renames(snapshot, layout)
    for path in sorted(p for p in snapshot if p.endswith((".go", "/go.mod")) or p == "go.mod"):
        text = rewrite_imports(text_of(path), modules)
        if path.endswith("go.mod"):
            text = rewrite_go_mod(path, text, layout)
        change(path, text, "Go module paths and replace targets")
    manual: list[ManualCheck] = []
    for path in sorted(p for p in snapshot if p.endswith(_PROGRAM_SUFFIXES)):
        manual += relative_literals(path, text_of(path), layout)
    for project in discovery.projects:
        if project.runtime != "yaml":
            continue
        new_name = renames.get(project.name, project.name)
        text, checks = rewrite_yaml_program(
            project.project_file, text_of(project.project_file), layout, project.name, new_name
        )
        change(project.project_file, text, "YAML program interpolations and paths")
        manual += checks
    return manual


def _owner(path: str, discovery: Discovery) -> Project | None:
    """The project a file belongs to: the deepest project directory above it."""
    above = [p for p in discovery.projects if is_under(path, p.directory)]
    return max(above, key=lambda p: len(p.directory), default=None)


def apply_to_snapshot(snapshot: Snapshot, plan: Plan) -> dict[str, str]:
    """The snapshot after the plan; ReorgError if the snapshot is not the one planned for."""
    tree = dict(snapshot)
    for operation in plan.operations:
        if isinstance(operation, Move):
            if operation.src not in tree or operation.dst in tree:
                raise ReorgError(f"cannot move {operation.src} to {operation.dst}: tree changed")
            tree[operation.dst] = tree.pop(operation.src)
        else:
            if tree.get(operation.path) != operation.before:
                raise ReorgError(f"{operation.path} changed since the plan was made; plan again")
            tree[operation.path] = operation.after
    return tree


def unified_diff(operation: Rewrite, original_path: str | None = None) -> str:
    """The rewrite as a unified diff (``a/`` the file before the moves, ``b/`` after)."""
    return "".join(
        difflib.unified_diff(
            operation.before.splitlines(keepends=True),
            operation.after.splitlines(keepends=True),
            fromfile=f"a/{original_path or operation.path}",
            tofile=f"b/{operation.path}",
        )
    )


def state_commands(plan: Plan) -> list[str]:
    """The Pulumi CLI commands that carry each stack's state over to its new project name."""
    commands = []
    for r in plan.renames:
        old, new = f"{r.org}/{r.old_project}/{r.stack}", f"{r.org}/{r.new_project}/{r.stack}"
        backup = f"{r.old_project}.{r.stack}.stack-backup.json"
        commands.append(f"pulumi stack export --stack {old} --file {backup}")
        commands.append(f"pulumi stack rename {new} --stack {old} --cwd {show_dir(r.directory)}")
    return commands


def operation_line(operation: Operation) -> str:
    """One line naming an operation, for journals and Markdown."""
    if isinstance(operation, Move):
        return f"move `{operation.src}` -> `{operation.dst}`"
    return f"rewrite `{operation.path}` ({operation.reason})"


def render_discovery(discovery: Discovery) -> list[str]:
    """Markdown lines listing what was found: projects, StackReferences, CI path uses."""
    out = ["## Discovered", "", "| directory | project | runtime | stacks |", "|---|---|---|---|"]
    out += [
        f"| `{show_dir(p.directory)}` | `{p.name}` | {p.runtime} | "
        f"{', '.join(s.stack for s in p.stacks) or '-'} |"
        for p in discovery.projects
    ]
    out += [
        "",
        *(f"- `{r.path}:{r.line}` StackReference `{r.target}`" for r in discovery.stack_refs),
    ]
    out += [f"- `{r.path}:{r.line}` {r.kind} `{r.value}`" for r in discovery.path_refs]
    return [*out, ""]


def nothing_to_do(plan: Plan) -> str | None:
    """Why ``plan`` changes nothing, or None when it has operations."""
    if plan.operations:
        return None
    if not plan.mapping.entries:
        return "no Pulumi project (no Pulumi.yaml or Pulumi.yml) here: nothing to reorganise"
    if plan.refused:
        return "every mapped project is refused (see Refused): nothing to reorganise"
    return "every project is already where the mapping puts it: nothing to reorganise"


def render_markdown(plan: Plan, discovery: Discovery | None = None) -> str:
    """The plan for people: the layout, every operation, every diff, the state commands."""
    origin = {op.dst: op.src for op in plan.operations if isinstance(op, Move)}
    out = ["# Pulumi stack reorganisation plan", ""]
    if (reason := nothing_to_do(plan)) is not None:
        out += [f"**Nothing to do:** {reason}.", ""]
    out += [f"Organisation `{plan.mapping.org}`, branch `{plan.mapping.branch}`.", ""]
    out += render_discovery(discovery) if discovery is not None else []
    out += ["| from | to | new name |", "|---|---|---|"]
    out += [f"| `{show_dir(e.source)}` | `{e.target}` | `{e.name}` |" for e in plan.mapping.entries]
    if plan.refused:
        out += ["", "## Refused (these projects stay where they are)", ""]
        out += [f"- {reason}" for reason in plan.refused]
    out += ["", f"## Manual checks ({len(plan.manual)})", ""]
    out += [f"- {check}" for check in plan.manual] or ["None: every reference was followed."]
    out += ["", f"## Operations ({len(plan.operations)})", ""]
    out += [f"{n}. {operation_line(op)}" for n, op in enumerate(plan.operations, start=1)]
    out += ["", "## Diffs", ""]
    for op in plan.operations:
        if isinstance(op, Rewrite):
            out += [f"### `{op.path}`", "", "```diff", unified_diff(op, origin.get(op.path)), "```"]
    out += ["", "## Stack state migration", ""]
    commands = state_commands(plan)
    out += ["```sh", *commands, "```"] if commands else ["No project changes its name."]
    out += ["", "## Notes", ""]
    out += [f"- {note}" for note in plan.notes]
    out += ["", f"## The mapping, as `{plan.mapping.source}`", ""]
    out += ["To change where a project goes or its name, save this at the repository's root"]
    out += [f"as `{plan.mapping.source}`, edit it, and plan again.", "", "```yaml"]
    out += [render_mapping(plan.mapping).rstrip("\n"), "```"]
    return "\n".join(out) + "\n"
