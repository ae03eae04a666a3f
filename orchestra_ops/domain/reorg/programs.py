"""Rewrites inside the programs of moved projects: Go modules and YAML programs.

* ``go.mod``: relative ``replace`` targets follow the move; a module path that ends with
  the project's old directory takes the new one, and every import of it follows.
* YAML programs (``runtime: yaml``): ``${old:key}`` config interpolations take the new
  project name; relative paths (``./``, ``../``, ``${pulumi.cwd}/..``) that leave the
  project are re-aimed from its new directory; other ``${...}/path`` values are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestra_ops.domain.reorg.model import ManualCheck, Snapshot, parent
from orchestra_ops.domain.reorg.paths import Layout, relative_to, resolve

_MODULE = re.compile(r"^module\s+(?P<path>\S+)", re.MULTILINE)
_REPLACE_TARGET = re.compile(r"=>\s*(?P<path>\.\.?/[^\s]*|\.\.?)(?=\s|$)")
_RELATIVE = re.compile(r"(?P<lead>(?<![\w./-])|\$\{pulumi\.cwd\}/)(?P<path>\.\.?/[\w./-]*)")
_COMPUTED = re.compile(r"\$\{(?!pulumi\.cwd\})[\w.:-]+\}/[\w./-]+")
_INTERPOLATION = r"\$\{{{name}:"


@dataclass(frozen=True)
class GoModule:
    """A moved Go module whose path follows its directory."""

    old: str
    new: str


def module_renames(snapshot: Snapshot, layout: Layout) -> list[GoModule]:
    """Go modules of moved directories whose module path ends with the old directory."""
    renames = []
    for old_dir, new_dir in sorted(layout.dirs.items()):
        text = snapshot.get(f"{old_dir}/go.mod")
        match = _MODULE.search(text or "")
        if match is None or old_dir == new_dir:
            continue
        module = match["path"]
        if module.endswith("/" + old_dir):
            renames.append(GoModule(module, module[: -len(old_dir)] + new_dir))
    return renames


def rewrite_imports(text: str, modules: list[GoModule]) -> str:
    """Every mention of a renamed module path (imports, require, replace, module lines)."""
    for module in modules:
        text = re.sub(re.escape(module.old) + r"(?=[\"/\s`]|$)", module.new, text, flags=re.M)
    return text


def rewrite_go_mod(path: str, text: str, layout: Layout) -> str:
    """Relative ``replace`` targets of one go.mod re-aimed from where the file now sits."""
    old_dir, new_dir = parent(path), parent(layout.new(path))
    return _REPLACE_TARGET.sub(lambda m: _reaim(m, old_dir, new_dir, layout, "=> "), text)


def _reaim(match: re.Match[str], old_dir: str, new_dir: str, layout: Layout, lead: str) -> str:
    relative = match["path"]
    target = resolve(old_dir, relative.rstrip("/"))
    if target is None or not layout.existed(target):
        return match[0]
    new_target = layout.new(target)
    if resolve(new_dir, relative) == new_target:
        return match[0]
    fresh = relative_to(new_target, new_dir)
    if lead.endswith("/"):  # after ${pulumi.cwd}/
        fresh = fresh.removeprefix("./")
    elif not fresh.startswith("."):
        fresh = "./" + fresh  # Go reads a replace target without ./ as a module path
    return lead + fresh + ("/" if relative.endswith("/") and fresh != "." else "")


def rewrite_yaml_program(
    path: str, text: str, layout: Layout, old_name: str, new_name: str
) -> tuple[str, list[ManualCheck]]:
    """A YAML program after the move: its own config interpolations and relative paths."""
    if old_name != new_name:
        text = re.sub(_INTERPOLATION.format(name=re.escape(old_name)), f"${{{new_name}:", text)
    old_dir, new_dir = parent(path), parent(layout.new(path))
    text = _RELATIVE.sub(lambda m: _reaim(m, old_dir, new_dir, layout, m["lead"]), text)
    checks = [
        ManualCheck(
            layout.new(path),
            text.count("\n", 0, m.start()) + 1,
            m[0],
            "path built from an interpolation: check where it leads after the move",
        )
        for m in _COMPUTED.finditer(text)
        if ".." in m[0]
    ]
    return text, checks


def retired_interpolations(path: str, text: str, retired: set[str]) -> list[tuple[int, str]]:
    """``${name:key}`` interpolations of project names the reorganisation retired."""
    found = []
    for name in sorted(retired):
        for m in re.finditer(_INTERPOLATION.format(name=re.escape(name)), text):
            found.append((text.count("\n", 0, m.start()) + 1, name))
    return found


def replace_targets(path: str, text: str) -> list[tuple[int, str]]:
    """(line, repo-relative directory) of each relative ``replace`` in a go.mod."""
    found = []
    for m in _REPLACE_TARGET.finditer(text):
        target = resolve(parent(path), m["path"].rstrip("/"))
        if target is not None:
            found.append((text.count("\n", 0, m.start()) + 1, target))
    return found


_CODE_PATH = re.compile(
    r"(?P<q>[\"'`])(?P<path>\.\.?/[\w./-]+)(?P=q)|(?<![\w./-])(?P<bare>\.\./[\w./-]+)"
)


# A ".." handed to a path join (os.path.join, path.resolve, filepath.Join, Path / ".."):
# where it leads depends on where the program sits, which the move changes.
_PARENT_PART = re.compile(
    r"(?P<q>[\"'`])\.\./?(?P=q)"  # join(__dirname, "..", ...)
    r"|\$\{__dirname\}/\.\./"  # `${__dirname}/../x`
    r"|\.parent\.parent\b"  # Path(__file__).parent.parent / "x"
    r"|dirname\(\s*(?:os\.path\.|path\.)?dirname\("  # dirname(dirname(__file__))
)


def relative_literals(path: str, text: str, layout: Layout) -> list[ManualCheck]:
    """Relative paths in a moved program's code (strings, docstrings) that the move breaks.

    Code is not rewritten (a path may be built, joined or read from config); each one
    that led somewhere real and would lead elsewhere from the new place is listed with
    the path to write instead.
    """
    old_dir, new_dir = parent(path), parent(layout.new(path))
    if old_dir == new_dir:
        return []
    checks = []
    for match in _CODE_PATH.finditer(text):
        # A sentence's full stop is not part of the path.
        relative = re.sub(r"(?<=[^./])\.+$", "", match["path"] or match["bare"])
        target = resolve(old_dir, relative.rstrip("/"))
        if target is None or not layout.existed(target):
            continue
        new_target = layout.new(target)
        if resolve(new_dir, relative) != new_target:
            line = text.count("\n", 0, match.start()) + 1
            fresh = relative_to(new_target, new_dir)
            reason = f"leads to {target!r}; from {new_dir!r} write {fresh!r}"
            checks.append(ManualCheck(layout.new(path), line, relative, reason))
    lines = text.splitlines()
    for match in _PARENT_PART.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        statement = lines[line - 1].strip()
        reason = (
            f"builds a path from parts with '..': from {new_dir!r} it leads elsewhere "
            f"than from {old_dir!r}; check it"
        )
        checks.append(ManualCheck(layout.new(path), line, statement[:120], reason))
    return sorted(set(checks), key=lambda c: (c.line, c.text))
