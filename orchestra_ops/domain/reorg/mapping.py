"""``reorg.yaml``: where each Pulumi project goes and under which name, with the plan's defaults.

Example::

    org: orchestra                      # Pulumi organisation of fully qualified StackReferences
    branch: orchestra-ops/pulumi-reorg  # the new branch the reorganisation is committed on
    projects:
      - source: .                       # the directory holding Pulumi.yaml (. = repo root)
        target: infrastructure/pulumi/frontend
        name: orchestra-frontend
        description: Orchestra AI Frontend Infrastructure (Vercel)

Projects not listed stay where they are (their StackReferences are still rewritten).
An invalid file raises ConfigError naming the file, the line and the reason.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from orchestra_ops.domain.reorg.model import (
    PROJECT_FILES,
    Discovery,
    MappingEntry,
    Project,
    ReorgMapping,
    is_under,
    show_dir,
)
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

DEFAULT_BRANCH = "orchestra-ops/pulumi-reorg"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_STACK_FILE_NAME = re.compile(r"^Pulumi\.(?P<stack>.+)\.ya?ml$")
_TOP_KEYS = {"org", "branch", "projects"}
_ENTRY_KEYS = {"source", "target", "name", "description"}
WHY_NOT_STACK_FILE = (
    "Pulumi reads Pulumi.<name>.yaml as the configuration of the stack <name> of the project "
    "in the same directory, not as a project file: renaming Pulumi.yaml to {file} would leave "
    "the directory without a project and turn the project definition into a bogus stack "
    "config. Give the project's new directory as target (it keeps its Pulumi.yaml) and its "
    "new name as name, e.g. target: infrastructure/pulumi/{stack}, name: orchestra-{stack}"
)
# (role, target, name, description, keywords) of the plan's layout, in assignment order.
_ROLES = (
    ("frontend", "Orchestra AI Frontend Infrastructure (Vercel)", ("frontend", "vercel", "web")),
    ("backend", "Orchestra AI Backend Infrastructure (Lambda Labs)", ("lambda", "backend", "api")),
    ("shared", "Orchestra AI Database and Storage Infrastructure", ("database", "storage", "db")),
)


def _error(source: str, line: int, reason: str) -> ConfigError:
    return ConfigError(f"{source}:{line}: {reason}", source=f"{source}:{line}")


def _line(mapping: CommentedMap, key: str) -> int:
    return int(mapping.lc.key(key)[0]) + 1


def normalise(path: str, *, source: str, line: int) -> str:
    """A repo-relative posix path (``""`` for the root); ConfigError when it leaves the repo."""
    text = path.strip().replace("\\", "/")
    if text.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", text):
        raise _error(source, line, f"{path!r} is outside the repo: paths are relative to its root")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise _error(source, line, f"{path!r} points outside the repo")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def parse_mapping(text: str, source: str = "reorg.yaml") -> ReorgMapping:
    """Parse ``reorg.yaml``; ConfigError ``source:line`` on a shape or path problem."""
    document = load_yaml(text, source)
    if not isinstance(document, CommentedMap):
        raise _error(source, 1, "the mapping must be a YAML mapping with org, branch, projects")
    for key in document:
        if key not in _TOP_KEYS:
            raise _error(source, _line(document, key), f"unknown key {key!r}")
    projects = document.get("projects") or CommentedSeq()
    if not isinstance(projects, CommentedSeq):
        raise _error(source, _line(document, "projects"), "projects must be a list of entries")
    entries = tuple(_entry(item, projects, i, source) for i, item in enumerate(projects))
    org = str(document.get("org") or "organization")
    branch = str(document.get("branch") or DEFAULT_BRANCH)
    return ReorgMapping(org=org, branch=branch, entries=entries, source=source)


def _entry(item: Any, projects: CommentedSeq, index: int, source: str) -> MappingEntry:
    line = int(projects.lc.item(index)[0]) + 1
    if not isinstance(item, CommentedMap):
        raise _error(source, line, "each project entry needs source, target and name")
    for key in item:
        if key not in _ENTRY_KEYS:
            raise _error(source, _line(item, key), f"unknown key {key!r} in a project entry")
    missing = sorted({"source", "target", "name"} - set(item))
    if missing:
        raise _error(source, line, f"project entry lacks {', '.join(missing)}")
    name = str(item["name"])
    if not NAME.match(name):
        raise _error(source, _line(item, "name"), f"{name!r} is not a valid Pulumi project name")
    target_line = _line(item, "target")
    target = normalise(str(item["target"]), source=source, line=target_line)
    file_name = target.rsplit("/", 1)[-1]
    if (stack_file := _STACK_FILE_NAME.match(file_name)) and file_name not in PROJECT_FILES:
        why = WHY_NOT_STACK_FILE.format(file=file_name, stack=stack_file["stack"])
        raise _error(source, target_line, f"target {target!r} refused: {why}")
    if file_name in PROJECT_FILES:
        target = target.rsplit("/", 1)[0] if "/" in target else ""
    description = item.get("description")
    return MappingEntry(
        source=normalise(str(item["source"]), source=source, line=_line(item, "source")),
        target=target,
        name=name,
        description=None if description is None else str(description),
        line=line,
    )


def check_mapping(mapping: ReorgMapping, discovery: Discovery) -> None:
    """Refuse unknown sources, two entries for one project, place or name, and nesting."""
    _check_entries(mapping, discovery)
    final = _final_dirs(mapping, discovery)
    # Nesting that exists already (both projects stay put) is the repo's business.
    moved = {e.source for e in mapping.entries if e.target != e.source}
    for source, directory in final.items():
        for other_source, other in final.items():
            if source == other_source or not {source, other_source} & moved:
                continue
            entry = next(e for e in mapping.entries if e.source in (source, other_source))
            if other == directory:
                reason = f"two projects would share {show_dir(directory)!r}"
                raise _error(mapping.source, entry.line, reason)
            if directory and is_under(other, directory):
                reason = f"{show_dir(other)!r} would sit inside the project {show_dir(directory)!r}"
                raise _error(mapping.source, entry.line, f"{reason}; give each its own directory")


def _check_entries(mapping: ReorgMapping, discovery: Discovery) -> None:
    seen: dict[str, MappingEntry] = {}
    moved = {e.source for e in mapping.entries}
    kept = {p.name: p for p in discovery.projects if p.directory not in moved}
    for entry in mapping.entries:
        if discovery.project_at(entry.source) is None:
            known = ", ".join(show_dir(p.directory) for p in discovery.projects)
            reason = f"no Pulumi project in {show_dir(entry.source)!r} (projects: {known})"
            raise _error(mapping.source, entry.line, reason)
        if entry.name in kept:
            where = show_dir(kept[entry.name].directory)
            reason = f"name {entry.name!r} is already the project in {where!r}, which stays"
            raise _error(mapping.source, entry.line, reason)
        for field, value in (("source", entry.source), ("target", entry.target)):
            if (other := seen.get(f"{field}:{value}")) is not None:
                used = f"is also used by the entry at line {other.line}"
                reason = f"{field} {show_dir(value)!r} {used}"
                raise _error(mapping.source, entry.line, reason)
            seen[f"{field}:{value}"] = entry
        if (other := seen.get(f"name:{entry.name}")) is not None:
            reason = f"name {entry.name!r} is also used by the entry at line {other.line}"
            raise _error(mapping.source, entry.line, reason)
        seen[f"name:{entry.name}"] = entry


def _final_dirs(mapping: ReorgMapping, discovery: Discovery) -> dict[str, str]:
    targets = {e.source: e.target for e in mapping.entries}
    return {p.directory: targets.get(p.directory, p.directory) for p in discovery.projects}


def default_mapping(discovery: Discovery) -> ReorgMapping:
    """The plan's layout: frontend, backend and shared by role; the rest under legacy/."""
    taken: dict[str, tuple[str, str | None, str]] = {}
    for role, role_description, words in _ROLES:
        ranked = sorted(
            (-_score(p, role, words), p.directory)
            for p in discovery.projects
            if p.directory not in taken and _score(p, role, words) > 0
        )
        if ranked:
            taken[ranked[0][1]] = (role, role_description, f"orchestra-{role}")
    entries: list[MappingEntry] = []
    for project in discovery.projects:
        role, description, name = taken.get(project.directory, ("", None, ""))
        if not role:
            slug = project.name.removeprefix("legacy-").removeprefix("orchestra-")
            if f"infrastructure/pulumi/legacy/{slug}" in (e.target for e in entries):
                slug = f"{slug}-{len(entries)}"
            role, name = f"legacy/{slug}", f"orchestra-legacy-{slug}"
        target = f"infrastructure/pulumi/{role}"
        entries.append(MappingEntry(project.directory, target, name, description))
    return ReorgMapping(_default_org(discovery), DEFAULT_BRANCH, tuple(entries))


def _says(text: str, words: tuple[str, ...]) -> bool:
    """One of ``words`` as a word of ``text`` (or its plural): "web" is not in "webhooks",
    nor "db" in "feedback"."""
    said = set(re.split(r"[^a-z0-9]+", text.lower()))
    return any(w in said or f"{w}s" in said for w in words)


def _score(project: Project, role: str, words: tuple[str, ...]) -> int:
    """How surely ``project`` plays ``role``: its name, else its description, must say so
    (a Node.js runtime only ranks frontend candidates; alone it is no evidence)."""
    in_name = _says(project.name, words)
    score = 2 if in_name else int(_says(project.description or "", words))
    if score and role == "frontend" and project.runtime == "nodejs":
        score += 2
    return score


def _default_org(discovery: Discovery) -> str:
    orgs = Counter(r.target.split("/")[0] for r in discovery.stack_refs if r.target.count("/") == 2)
    return min(orgs, key=lambda o: (-orgs[o], o)) if orgs else "organization"


def render_mapping(mapping: ReorgMapping) -> str:
    """``reorg.yaml`` text for a mapping (what ``parse_mapping`` reads back)."""
    lines = [
        "# Pulumi reorganisation: each project's new directory and name (see orchestra_ops).",
        "# The project file stays Pulumi.yaml; Pulumi.<name>.yaml would be a stack config.",
        # Quoted (JSON strings are YAML): a plain 00, 1e3 or true would read back retyped.
        f"org: {json.dumps(mapping.org)}",
        f"branch: {json.dumps(mapping.branch)}",
        "projects:",
    ]
    for entry in mapping.entries:
        lines.append(f"  - source: {json.dumps(show_dir(entry.source))}")
        lines.append(f"    target: {json.dumps(entry.target)}")
        lines.append(f"    name: {json.dumps(entry.name)}")
        if entry.description is not None:
            # Unescaped non-ASCII: YAML reads a JSON surrogate pair (an emoji) as two halves.
            lines.append(f"    description: {json.dumps(entry.description, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
