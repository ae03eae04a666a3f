"""Follow paths through scripts, Makefiles and CI files, directory change by directory change.

A shell script starts in its own directory, a Makefile recipe line in the Makefile's,
a CI step at the repo root. Each ``cd``/``pushd``/``popd`` moves the walk; every path
argument (``cd``, ``pushd``, ``-C``, ``--cwd``, ``working-directory:``, ``local:``) and
every path-shaped word is resolved from where the walk stands. A reference to something
that moves is rewritten relative to where the walk stands after the moves; one that
cannot be resolved statically (a variable, ``$(...)``) becomes a :class:`ManualCheck`.
Words that resolve to nothing that existed are left alone (``origin/main``, ``build/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestra_ops.domain.reorg.model import ManualCheck, parent
from orchestra_ops.domain.reorg.paths import Layout, relative_to, resolve

_ARG = r"(?:\"[^\"\n]*\"|'[^'\n]*'|\$\([^()\n]*\)|\$\{\{[^}\n]*\}\}|[^\s;&|()`\"'])+"
_WORD = re.compile(
    rf"(?P<cmd>(?<![\w./$-])(?:cd|pushd)\s+)(?P<carg>{_ARG})"
    rf"|(?P<pop>(?<![\w-])popd\b)"
    rf"|(?P<opt>(?<![\w-])(?:-C|--cwd|--dir|--directory|--chdir|--prefix|-chdir)(?:\s+|=))"
    rf"(?P<oarg>{_ARG})"
    rf"|(?P<key>(?<![\w-])(?:work-dir|working-directory|local):\s*)(?P<karg>{_ARG})"
    r"|(?P<tok>(?<![\w$:@.-])[A-Za-z0-9_.@*+/-]*/[A-Za-z0-9_.@*+/-]*)"
)
_YAML_KEY = re.compile(r"^\s*(?:-\s+)?[\w.-]+:(?:\s|$)")
_GLOB = re.compile(r"[*?\[{]")
# Expressions whose value is known: the script's own directory, the repo root, make's CURDIR.
_SCRIPT_DIR = re.compile(
    r"\$\(\s*dirname\s+\"?\$(?:0|\{0\}|\{?BASH_SOURCE(?:\[0\])?\}?)\"?\s*\)|\$\{0%/\*\}"
)
_ROOT = re.compile(
    r"\$\{?CI_PROJECT_DIR\}?|\$\{?GITHUB_WORKSPACE\}?|\$\{\{\s*github\.workspace\s*\}\}"
    r"|\$\(\s*git\s+rev-parse\s+--show-toplevel\s*\)"
)
_CURDIR = re.compile(r"\$[({]CURDIR[)}]")
_HERE, _TOP = "\x01", "\x02"
OUTSIDE = "\x00outside"


def dialect(path: str) -> str:
    """``make``, ``yaml`` (CI) or ``shell``: how a file's lines run."""
    name = path.rsplit("/", 1)[-1]
    if name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
        return "make"
    return "yaml" if name.endswith((".yml", ".yaml")) else "shell"


@dataclass
class Followed:
    """The new text, what needs a person, and references that lead nowhere after the moves."""

    text: str
    manual: list[ManualCheck] = field(default_factory=list)
    # (line, text, target, a directory argument?) of references to nothing that exists
    dangling: list[tuple[int, str, str, bool]] = field(default_factory=list)


@dataclass
class _Walk:
    path: str
    new_path: str
    layout: Layout
    kind: str
    out: Followed
    number: int = 0
    cwd: tuple[str | None, str | None] = ("", "")
    stack: list[tuple[str | None, str | None]] = field(default_factory=list)
    computed_at: int = 0

    def start(self) -> tuple[str, str]:
        if self.kind == "yaml":
            return "", ""
        return parent(self.path), parent(self.new_path)

    def flag(self, text: str, reason: str) -> None:
        self.out.manual.append(ManualCheck(self.new_path, self.number, text, reason))


def follow(
    path: str, text: str, layout: Layout, *, bare_lines: frozenset[int] = frozenset()
) -> Followed:
    """Rewrite the paths of one script, Makefile or CI file for the moves of ``layout``.

    ``bare_lines`` are lines where a single name (no ``/``) is a path too (CI ``paths:``).
    """
    out = Followed("")
    walk = _Walk(path, layout.new(path), layout, dialect(path), out)
    walk.cwd = walk.start()
    lines, continued = [], False
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        walk.number = number
        if (walk.kind == "yaml" and _YAML_KEY.match(line)) or (
            walk.kind == "make" and not continued
        ):
            walk.cwd, walk.stack = walk.start(), []
        saved = walk.cwd
        lines.append(_line(walk, line, number in bare_lines))
        continued = line.rstrip("\n").endswith("\\")
        if re.search(r"\(\s*(?:cd|pushd)\s", line):
            walk.cwd = saved  # a subshell: its directory change ends with it
    out.text = "".join(lines)
    return out


_BARE = re.compile(r"(?P<tok>(?<![\w$:@.-])[A-Za-z0-9_.@*+/-]+)")


def _line(walk: _Walk, line: str, bare: bool) -> str:
    kept: list[str] = []

    def hide(marker: str) -> Callable[[re.Match[str]], str]:
        def sub(match: re.Match[str]) -> str:
            kept.append(match[0])
            return f"{marker}{len(kept) - 1}\x05"

        return sub

    masked = _ROOT.sub(hide(_TOP), _SCRIPT_DIR.sub(hide(_HERE), line))
    if walk.kind == "make":
        masked = _CURDIR.sub(hide(_HERE), masked)
    pattern = _BARE if bare else _WORD
    result = pattern.sub(lambda m: _word(walk, m), masked)
    return re.sub(r"[\x01\x02](\d+)\x05", lambda m: kept[int(m[1])], result)


def _word(walk: _Walk, match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups.get("pop"):
        if walk.stack:
            walk.cwd = walk.stack.pop()
        else:  # a popd of a pushd this file did not make: where it lands is unknown
            walk.cwd, walk.computed_at = (None, None), walk.number
        return match[0]
    if groups.get("tok") is not None:
        before = match.string[match.start() - 1] if match.start() else ""
        return _token(walk, match["tok"], before)
    if groups.get("cmd") is not None:
        kind = "pushd" if match["cmd"].startswith("pushd") else "cd"
        return match["cmd"] + _argument(walk, match["carg"], kind)
    if groups.get("opt") is not None:
        kind = "project" if match["opt"].startswith("--cwd") else "option"
        return match["opt"] + _argument(walk, match["oarg"], kind)
    kind = "project-key" if match["key"].startswith("work-dir") else "key"
    return match["key"] + _argument(walk, match["karg"], kind)


def _anchor(text: str, walk: _Walk, kind: str) -> tuple[str, str, str, str] | None:
    """(old base, new base, anchor text, rest) of an argument; None when it is computed."""
    found = re.match(r"^([\x01\x02])(\d+)\x05/?", text)
    if found:
        rest = text[found.end() :]
        if found[1] == _TOP:
            return "", "", text[: found.end()], rest
        return parent(walk.path), parent(walk.new_path), text[: found.end()], rest
    if kind.endswith("key"):  # CI keys are relative to the repo root; GitLab local: may be /x
        lead = "/" if text.startswith("/") else ""
        return "", "", lead, text[len(lead) :]
    old, new = walk.cwd
    if old is None or new is None:
        return None
    return old, new, "", text


def _argument(walk: _Walk, raw: str, kind: str) -> str:
    """A directory argument, rewritten when what it names moves; a cd moves the walk."""
    changes_dir = kind in ("cd", "pushd")
    anchored = _static(walk, raw, kind)
    if anchored is None:
        return raw
    old_base, new_base, anchor, rest = anchored
    target = resolve(old_base, rest)
    if target is None:
        if changes_dir:
            walk.cwd = (OUTSIDE, OUTSIDE)
        return raw
    layout = walk.layout
    if not layout.existed(target) and not anchor and old_base and not rest.startswith("."):
        at_root = resolve("", rest)
        if at_root is not None and layout.existed(at_root):
            target, new_base = at_root, ""  # written for a run from the repo root
    if target == "" and kind.startswith("project") and layout.root_project is not None:
        target = layout.root_project  # a Pulumi directory option naming the root project
        new_text = relative_to(target, new_base)
        return raw if new_text == rest else raw.replace(rest, new_text, 1)
    new_text, new_target = _relocate(walk, rest, target, new_base, raw, directory=True)
    if kind == "pushd":
        walk.stack.append(walk.cwd)
    if changes_dir:
        walk.cwd = (target, new_target)
    if new_text == rest:
        return raw
    rebuilt = anchor + ("/" if anchor and not anchor.endswith("/") else "") + new_text
    return f'"{rebuilt}"' if '"' in raw or "'" in raw else rebuilt


def _static(walk: _Walk, raw: str, kind: str) -> tuple[str, str, str, str] | None:
    """The anchored argument when it can be followed; else None (listed when it matters)."""
    text = raw.replace('"', "").replace("'", "")
    changes_dir = kind in ("cd", "pushd")
    if not kind.endswith("key") and (text.startswith(("/", "~")) or text in ("", "-")):
        if changes_dir and text == "-":  # back to the previous directory: not tracked
            walk.cwd, walk.computed_at = (None, None), walk.number
        elif changes_dir:  # outside the repo, or home: not followed further
            walk.cwd = (OUTSIDE, OUTSIDE)
        return None
    anchored = _anchor(text, walk, kind)
    if anchored is None:
        walk.flag(raw, f"follows a directory computed on line {walk.computed_at}; check it")
        return None
    if anchored[0] == OUTSIDE:
        return None
    if re.search(r"[$`\x01\x02]", anchored[3]) or _GLOB.search(anchored[3]):
        walk.flag(raw, "computed path: cannot be followed statically; check it after the move")
        if changes_dir:
            walk.cwd, walk.computed_at = (None, None), walk.number
        return None
    return anchored


def _relocate(
    walk: _Walk, rest: str, target: str, new_base: str, raw: str, *, directory: bool = False
) -> tuple[str, str]:
    """(the new text of ``rest``, where it leads after the moves)."""
    layout = walk.layout
    if not layout.existed(target):
        walk.out.dangling.append((walk.number, raw, target, directory))
        return rest, resolve(new_base, rest) or target
    new_target = layout.new(target)
    if not layout.exists_after(new_target):
        walk.flag(raw, f"{target!r} no longer exists after the move")
    if resolve(new_base, rest) == new_target:
        return rest, new_target
    new_text = relative_to(new_target, new_base)
    if rest.startswith("./") and not new_text.startswith(".."):
        new_text = "./" + new_text
    if rest.endswith("/") and new_text != ".":
        new_text += "/"
    return new_text, new_target


def _token(walk: _Walk, token: str, before: str) -> str:
    """A path-shaped word: followed from the walk's directory, or from the root as a fallback."""
    layout = walk.layout
    if token.startswith("/") and not token.startswith("//"):
        if walk.kind == "yaml" and layout.existed(token[1:].split("*")[0].rstrip("/")):
            return "/" + _token(walk, token[1:], "")  # GitLab: /path is from the repo root
        if before in ("}", ")") or before.isalnum():
            _flag_computed(walk, token, before)
        return token
    anchored = _anchor(token, walk, "token")
    body = anchored[3] if anchored else token
    segments = body.split("/")
    count = next((i for i, s in enumerate(segments) if _GLOB.search(s)), len(segments))
    literal = "/".join(segments[:count]).rstrip("/")
    tail = body[len(literal) :]  # a trailing slash, a glob
    if not literal.strip("./") or ("\x05" in token and not anchored):
        return token
    bases: list[tuple[str, str]] = []
    if anchored is not None and anchored[0] != OUTSIDE:
        bases.append((anchored[0], anchored[1]))
    if not (anchored and anchored[2]) and not literal.startswith("."):
        bases.append(("", ""))
    for old_base, new_base in bases:
        target = resolve(old_base, literal)
        if target is not None and layout.existed(target):
            new_text, _ = _relocate(walk, literal, target, new_base, literal)
            if new_text == literal:
                return token
            prefix = anchored[2] if anchored and anchored[2] and old_base == anchored[0] else ""
            return prefix + new_text + tail
    if bases and (target := resolve(bases[0][0], literal)) is not None:
        walk.out.dangling.append((walk.number, token, target, False))
    return token


def _flag_computed(walk: _Walk, token: str, before: str) -> None:
    """List ``$VAR/x/y`` when a word after the variable names a directory that moves."""
    moved = {d.rsplit("/", 1)[-1] for d, new in walk.layout.dirs.items() if d != new}
    if moved & set(token.split("/")):
        walk.flag(token, "path after a variable names a moved project; check it after the move")
