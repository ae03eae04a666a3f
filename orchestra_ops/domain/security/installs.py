"""What a file installs from PyPI outside requirements files, and where.

Pure: text in, requirements out. Read are

- ``pip install`` commands (``pip``, ``pip3``, ``python -m pip``, ``uv pip``) anywhere in
  a Dockerfile, a shell script, a Makefile or a CI file, ``\\`` continuations joined;
- the ``deps`` of a ``tox.ini``;
- the requirement strings of a ``setup.py`` and the ``install_requires`` of a
  ``setup.cfg``.

Each gives its requirements (exact pins are audited, the others are named as not
checked, by line) and its ``-r``/``-c`` references (files the scan must read too).
Arguments that are variables, paths, URLs or wheels are not requirements and are left
out, as are a command's options.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import TypeVar

from orchestra_ops.domain.security.manifests import LockedPackage, Pin, Reference, Unchecked

_COMMAND = re.compile(
    r"(?:^|[\s;&|(`'\"/])(?:python[\d.]*\s+-m\s+|uv\s+)?pip[\d.]*\s+install\b(?P<rest>.*)"
)
_SEPARATOR = re.compile(r"&&|\|\||[;|)`]")
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
    r"(?:(?P<op>===?|>=|<=|~=|!=|>|<)\s*(?P<version>[A-Za-z0-9.*+!_-]+))?\s*(?:[,;].*)?$"
)
_STRING = re.compile(r"[\"']([^\"'\n]+)[\"']")
_REFERENCE_OPTIONS = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}
# Options that take a value: the value is not a requirement.
_VALUED = frozenset(
    {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target"}
    | {"--prefix", "--root", "--python", "-e", "--editable", "--only-binary", "--no-binary"}
    | {"--platform", "--python-version", "--implementation", "--abi", "--progress-bar"}
    | {"--log", "--cache-dir", "--src", "--upgrade-strategy", "--trusted-host", "--proxy"}
    | {"--retries", "--timeout", "--exists-action", "--cert", "--client-cert", "--report"}
    | {"--root-user-action", "-p", "--constraints", "--use-feature", "--use-deprecated"}
    | {"--keyring-provider", "--global-option", "--install-option", "--build-option"}
    | {"-C", "--config-settings", "--config-setting", "--log-file", "--resume-retries"}
    | {"--group", "--index-strategy", "--resolution", "--prerelease", "--python-platform"}
    | {"--exclude-newer", "--link-mode", "--upgrade-package", "-P", "--reinstall-package"}
    | {"--no-build-package", "--no-binary-package", "--only-binary-package", "--extra"}
    | {"--override", "--overrides", "--build-constraint", "--build-constraints", "-b"}
    | {"--refresh-package", "--default-index", "--index", "--torch-backend", "--color"}
    | {"--config-file", "--directory", "--project", "--allow-insecure-host"}
    | {"--fork-strategy", "--index-url-file"}
)
#: Printed, not run: `echo "pip install x"` installs nothing.
_SAYS = re.compile(r"\b(echo|printf)\b")
_TOX_DIR = re.compile(r"\{toxinidir\}/?")
_FACTOR = re.compile(r"^[\w.{},!-]+:\s+")  # tox: `py311,py312: pkg==1.0`
_EXTRAS = "options.extras_require"
_Found = TypeVar("_Found", Pin, Reference)


@dataclass(frozen=True)
class Installs:
    """The requirements a file installs, and the files it installs from."""

    pins: tuple[Pin, ...] = ()
    references: tuple[Reference, ...] = ()

    @property
    def exact(self) -> list[LockedPackage]:
        """The exact pins, as packages to audit."""
        return [LockedPackage(p.name, p.version or "", p.line) for p in self.pins if p.exact]

    def unchecked(self, source: str) -> list[Unchecked]:
        """The requirements no exact pin states, each by line."""
        return [
            Unchecked(
                source,
                pin.line,
                pin.name,
                f"installed without an exact pin ({pin.name}{pin.operator or ''}"
                f"{pin.version or ''}); only `==` pins are audited: pin it",
            )
            for pin in self.pins
            if not pin.exact
        ]


def read_installs(text: str, source: str) -> Installs:
    """What the file at ``source`` installs (its name says how it is read)."""
    name = PurePosixPath(source).name.lower()
    if name == "setup.py":
        return _setup_py(text)
    if name == "setup.cfg":
        return _ini_values(text, lambda s, k: k == "install_requires" or s == _EXTRAS)
    commands = _commands(text, folded=name.endswith((".yml", ".yaml")))
    if name == "tox.ini":  # deps, and pip install commands (in commands =)
        deps = _ini_values(text, lambda _section, key: key == "deps")
        return Installs(deps.pins + commands.pins, deps.references + commands.references)
    return commands


def _commands(text: str, *, folded: bool = False) -> Installs:
    """What the ``pip install`` commands of a script, Dockerfile or CI file install;
    ``folded``: YAML, whose folded blocks (``run: >``) are one command over lines."""
    pins: list[Pin] = []
    references: list[Reference] = []
    physical = text.splitlines()
    for first, last, line in _joined_lines(physical, folded):
        for part in _SEPARATOR.split(line):  # `a && pip install x; pip install y`
            command = _COMMAND.search(part)
            if command and not _SAYS.search(part, 0, command.start() + 1):
                found = _arguments(command.group("rest"), first)
                pins += [_on_its_line(pin, physical, last) for pin in found.pins]
                references += [_on_its_line(r, physical, last) for r in found.references]
    return Installs(tuple(pins), tuple(references))


def _joined_lines(physical: list[str], folded: bool = False) -> list[tuple[int, int, str]]:
    """(first and last line number, text) of each command, ``\\`` continuations (and
    with ``folded``, the lines of a YAML ``>`` block) joined, comment lines left out."""
    lines: list[tuple[int, int, str]] = []
    start = 0
    parts: list[str] = []
    block: int | None = None  # the indent a folded block's lines are deeper than
    for number, raw in enumerate(physical, start=1):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if block is not None:
            if stripped and indent > block:
                parts.append(stripped)
                continue
            lines.append((start, number - 1, " ".join(parts)))
            parts, block = [], None
        if not parts and stripped.startswith("#"):
            continue
        if not parts:
            start = number
        if folded and _FOLDED.search(stripped):
            block, parts = indent, []
            continue
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            continue
        parts.append(stripped)
        lines.append((start, number, " ".join(parts)))
        parts = []
    if parts:
        lines.append((start, len(physical), " ".join(parts)))
    return lines


#: A YAML folded block scalar opening a value: `run: >`, `- >-`, `script: >+2`.
_FOLDED = re.compile(r"(^-|:)\s*>[-+]?\d*$")


def _on_its_line(found: _Found, physical: list[str], last: int) -> _Found:
    """``found`` at the physical line of a continued command that names it."""
    name = found.name if isinstance(found, Pin) else found.target
    named = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
    for number in range(found.line, last + 1):
        if named.search(physical[number - 1]):
            return replace(found, line=number)
    return found


def _tokens(arguments: str) -> list[str]:
    try:
        return shlex.split(arguments, comments=True)
    except ValueError:  # an unbalanced quote (a command inside a string): plain words
        return [word.strip("'\"") for word in arguments.split()]


def _arguments(arguments: str, line: int) -> Installs:
    """The requirements and references among one command's arguments."""
    pins: list[Pin] = []
    references: list[Reference] = []
    tokens = iter(_tokens(arguments))
    for token in tokens:
        option, _, attached = token.partition("=")
        if option in _REFERENCE_OPTIONS or (token[:2] in ("-r", "-c") and len(token) > 2):
            key = option if option in _REFERENCE_OPTIONS else token[:2]
            target = attached or (token[2:] if key == token[:2] else "") or next(tokens, "")
            if target and "$" not in target:
                references.append(Reference(line, target, _REFERENCE_OPTIONS[key]))
        elif token.startswith("-"):
            if token in _VALUED:
                next(tokens, None)
        elif pin := _requirement(token, line):
            pins.append(pin)
    return Installs(tuple(pins), tuple(references))


def _requirement(token: str, line: int) -> Pin | None:
    """A requirement, or None for a local path or archive. A variable (``x==$VER``,
    ``$PKGS``) or a URL comes back with no version: it installs something no scanner can
    look up, so it is listed, never audited."""
    if "://" in token or "$" in token:
        return Pin(token, None, None, line)
    if token.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
        return None
    match = _REQUIREMENT.match(token.strip())
    if match is None:
        # A path or archive installs local code; a token that names a pin (``==``) but is
        # no requirement (a quoted line break, a path after it) is listed, never dropped.
        return Pin(token, None, None, line) if "==" in token else None
    if "/" in token or token.startswith((".", "~")):
        return None
    return Pin(match.group("name"), match.group("op"), match.group("version"), line)


def _setup_py(text: str) -> Installs:
    """The requirement strings with a version of a setup.py (exact or ranged)."""
    pins: list[Pin] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for literal in _STRING.findall(raw):
            pin = _requirement(literal, number)
            if pin is not None and pin.operator is not None:
                pins.append(pin)
    return Installs(tuple(pins))


def _ini_values(text: str, wanted: Callable[[str, str], bool]) -> Installs:
    """The requirements of the ini keys ``wanted(section, key)`` picks, each value line
    (``key =`` and its indented continuations) one requirement; a tox factor prefix
    (``py311: x``) is dropped."""
    pins: list[Pin] = []
    references: list[Reference] = []
    section, inside = "", False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.split("#", 1)[0].strip()
        if raw.startswith("["):
            section, inside = raw.strip().strip("[]").strip(), False
            continue
        if raw[:1] not in (" ", "\t"):
            option, equals, value = raw.partition("=")
            inside = bool(equals) and wanted(section, option.strip())
            stripped = value.strip() if inside else ""
        stripped = _FACTOR.sub("", stripped)
        if not inside or not stripped:
            continue
        if stripped.startswith("-"):
            found = _arguments(_TOX_DIR.sub("", stripped), number)
            pins += found.pins
            references += found.references
        elif pin := _requirement(stripped.replace(" ", ""), number):  # one per line
            pins.append(pin)
    return Installs(tuple(pins), tuple(references))
