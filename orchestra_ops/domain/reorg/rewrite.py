"""Text rewrites of the reorganisation: project files, stack configs, StackReferences, CI paths.

Each function returns the new text and changes nothing it was not asked to: a stack
config keeps every byte but the renamed key prefixes (``secure:`` values included).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from orchestra_ops.domain.reorg.discover import find_path_refs, stack_ref_spans
from orchestra_ops.domain.reorg.paths import Layout
from orchestra_ops.domain.reorg.scripts import Followed, follow
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ReorgError

GLOB = re.compile(r"[*?\[{$]")


def rewrite_project_file(
    text: str, source: str, name: str, description: str | None, old_name: str
) -> str:
    """Set ``name`` (and ``description`` if given) in a Pulumi.yaml, keeping comments and order.

    Namespaced keys of a project-level ``config:`` block follow the new name too.
    """
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long description onto a second line
    yaml.preserve_quotes = True
    document = load_yaml(text, source)
    document["name"] = name
    if description is not None:
        document["description"] = description
    config = document.get("config")
    if isinstance(config, CommentedMap):
        for position, key in enumerate(list(config)):
            if str(key).startswith(f"{old_name}:"):
                value = config.pop(key)
                config.insert(position, f"{name}:{str(key)[len(old_name) + 1 :]}", value)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def rewrite_stack_config(text: str, source: str, old_name: str, new_name: str) -> str:
    """Rename ``old_name:key`` to ``new_name:key`` under ``config:``, touching nothing else."""
    document = load_yaml(text, source)
    config = document.get("config") if isinstance(document, CommentedMap) else None
    if not isinstance(config, CommentedMap) or old_name == new_name:
        return text
    lines = text.splitlines(keepends=True)
    for key in config:
        if not str(key).startswith(f"{old_name}:"):
            continue
        row, column = config.lc.key(key)
        line = lines[row]
        quote = line[column] if line[column] in "\"'" else ""
        start = column + len(quote)
        # The key's own text is where ruamel says it starts; only its namespace changes.
        if not line.startswith(f"{old_name}:", start):
            raise ReorgError(
                f"{source}:{row + 1}: cannot rename {key!r} in place; rename it by hand"
            )
        lines[row] = line[:start] + new_name + line[start + len(old_name) :]
    return "".join(lines)


@dataclass(frozen=True)
class RefContext:
    """What a StackReference rewrite needs: the org, project renames and the file's own project."""

    org: str
    renames: Mapping[str, str]
    known: frozenset[str]
    own_project: str | None


def qualify(target: str, context: RefContext) -> str:
    """A StackReference target made fully qualified (``org/project/stack``) under new names."""
    parts = target.split("/")
    if len(parts) == 3:
        org, project, stack = parts
    elif len(parts) == 2 and parts[0] in context.known | set(context.renames):
        org, (project, stack) = context.org, parts
    elif len(parts) == 1 and context.own_project is not None and parts[0]:
        org, project, stack = context.org, context.own_project, parts[0]
    else:
        return target  # an org/stack pair of an old backend, or an expression: left as written
    if not GLOB.search(project):
        project = context.renames.get(project, project)
    return f"{org}/{project}/{stack}"


def rewrite_stack_refs(text: str, context: RefContext, path: str = "program.py") -> str:
    """Rewrite every literal StackReference target in one program file."""
    pieces: list[str] = []
    last = 0
    for start, end in stack_ref_spans(path, text):
        pieces += [text[last:start], qualify(text[start:end], context)]
        last = end
    return "".join(pieces) + text[last:]


@dataclass(frozen=True)
class PathMap:
    """Where paths go: moved files one by one, project directories by longest prefix."""

    files: Mapping[str, str]
    dirs: Mapping[str, str]

    def map(self, token: str, *, bare_names: bool) -> str:
        """``token`` with its moved prefix replaced; unchanged when nothing it names moved."""
        if token.startswith("/") or token.startswith("../"):
            return token
        lead = "./" if token.startswith("./") else ""
        body = token[len(lead) :]
        segments = body.split("/")
        literal_count = next((i for i, s in enumerate(segments) if GLOB.search(s)), len(segments))
        literal = "/".join(segments[:literal_count]).rstrip("/")
        rest = body[len(literal) :]
        if not literal or ("/" not in body and not bare_names):
            return token
        if literal in self.files:
            return lead + self.files[literal] + rest
        matches = [d for d in self.dirs if literal == d or literal.startswith(d + "/")]
        if not matches:
            return token
        longest = max(matches, key=len)
        return lead + self.dirs[longest] + literal[len(longest) :] + rest


def rewrite_ci(text: str, path: str, layout: Layout) -> Followed:
    """Follow moved paths in a workflow, GitLab CI file, script or Makefile.

    :func:`~orchestra_ops.domain.reorg.scripts.follow` does the walk; single names
    (``Pulumi.yaml``) count as paths on ``paths`` filter lines. A recursive ``paths``
    filter that covered a project moved out from under it gets a sibling entry for
    the project's new directory, so CI still triggers on it.
    """
    refs = find_path_refs(path, text)
    filters = {ref.line: ref.value for ref in refs if ref.kind == "paths"}
    followed = follow(path, text, layout, bare_lines=frozenset(filters))
    paths = PathMap(layout.files, layout.dirs)
    present = {paths.map(value, bare_names=True) for value in filters.values()}
    out = []
    for number, line in enumerate(followed.text.splitlines(keepends=True), start=1):
        out.append(line)
        for extra in extra_filters(filters.get(number, ""), paths):
            if extra not in present:
                present.add(extra)
                out.append(_sibling_item(line, paths.map(filters[number], bare_names=True), extra))
    followed.text = "".join(out)
    return followed


def extra_filters(pattern: str, paths: PathMap) -> list[str]:
    """``dir/**`` entries for moved projects ``pattern`` covered before but not after."""
    if not pattern.endswith("/**") or GLOB.search(pattern[:-3]):
        return []
    before = pattern[:-3]
    after = paths.map(before, bare_names=True)
    return [
        f"{new}/**"
        for old, new in sorted(paths.dirs.items())
        if old != new
        and (old == before or old.startswith(before + "/"))
        and not (new == after or new.startswith(after + "/"))
    ]


def _sibling_item(line: str, value: str, extra: str) -> str:
    """A copy of a list item line with ``extra`` in place of ``value`` (quotes kept)."""
    start = line.index(value)
    end = line.index("\n") if "\n" in line else len(line)
    return line[:start] + extra + line[start + len(value) : end] + "\n"
