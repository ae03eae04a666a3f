"""Read what a manifest pins, and where: requirements files and npm lockfiles.

Pure: text in, pins out. A requirements file is read whole (:func:`read_requirements`):
its pins, its ``-r``/``-c`` references, its direct (URL, path, VCS) references. Only
exact ``==`` pins are audited; every other line becomes an :class:`Unchecked` entry
naming the line and why, unless a file it references pins the same package exactly.
Lockfiles of other package managers are parsed in ``orchestra_ops.adapters.lockfiles``
into the same :class:`LockedPackage` / :class:`Unchecked` types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from packaging.version import Version

from orchestra_ops.domain.redaction import redact_urls
from orchestra_ops.errors import ConfigError

_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(===?|>=|<=|~=|!=|>|<)?\s*([^\s;#\\]*)"
)


def canonical_name(name: str) -> str:
    """PEP 503 normalised name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    """One requirement line: name, operator and version, and its 1-based line number."""

    name: str
    operator: str | None
    version: str | None
    line: int

    @property
    def exact(self) -> bool:
        """True for ``name==version`` (or ``===``)."""
        return (
            self.operator in ("==", "===")
            and bool(self.version)
            and "*" not in (self.version or "")
        )


@dataclass(frozen=True)
class LockedPackage:
    """One exact ``name==version`` a manifest pins, at a 1-based line (None if unknown)."""

    name: str
    version: str
    line: int | None = None


@dataclass(frozen=True)
class Unchecked:
    """A line of a scanned manifest that no scanner checks, and why (never dropped).

    Credentials in a URL (``https://user:token@host``) are masked on construction: these
    entries go into reports and artifacts.
    """

    manifest: str
    line: int | None
    name: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", redact_urls(self.name))
        object.__setattr__(self, "reason", redact_urls(self.reason))

    @property
    def text(self) -> str:
        """``path:line: name: reason``."""
        where = f"{self.manifest}:{self.line}" if self.line else self.manifest
        return f"{where}: {self.name}: {self.reason}"


_PACKAGE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def _normal_version(text: str) -> str | None:
    """The PEP 440 normal form of ``text`` (``V2.10`` -> ``2.10``), or None when it is not a
    version written without white space (or has more digits than a number may)."""
    if re.search(r"\s", text):
        return None
    try:
        return str(Version(text))
    except ValueError:  # InvalidVersion, or an int of more than 4300 digits
        return None


def python_pins(
    source: str, packages: list[LockedPackage]
) -> tuple[list[LockedPackage], list[Unchecked]]:
    """The pins a Python scanner can check, their versions in normal form, and the others
    listed as not checked.

    Each pin becomes a ``name==version`` line of the scanners' input: a version such as
    ``latest`` is dropped by safety and refused by pip-audit, and a name or version holding
    a line break would put another line into that input. pip-audit reports a version in
    normal form and safety as written: both get the normal form, so one finding is one.
    """
    kept, unchecked = [], []
    for package in packages:
        version = _normal_version(package.version)
        if not _PACKAGE_NAME.fullmatch(package.name):
            name, reason = repr(package.name), "not a valid package name"
        elif version is None:
            name = package.name
            shown = _version_shown(package.version)
            reason = f"version {shown} is not a PEP 440 version without spaces"
        else:
            kept.append(LockedPackage(package.name, version, package.line))
            continue
        unchecked.append(Unchecked(source, package.line, name, f"{reason}; no index can be asked"))
    return kept, unchecked


@dataclass(frozen=True)
class Reference:
    """A ``-r`` (include) or ``-c`` (constraints) line of a requirements file."""

    line: int
    target: str
    constraint: bool


@dataclass(frozen=True)
class RequirementsFile:
    """A requirements file read whole: pins, references, direct references, and the
    lines that are no requirements syntax (pip refuses the file; the other lines are read)."""

    pins: tuple[Pin, ...]
    references: tuple[Reference, ...]
    direct: tuple[tuple[int, str], ...]
    compiled: bool
    unreadable: tuple[int, ...] = ()

    @property
    def exact(self) -> list[LockedPackage]:
        """The exact pins, as packages to audit."""
        return [LockedPackage(p.name, p.version or "", p.line) for p in self.pins if p.exact]


_REFERENCE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)\s*$")
_DIRECT = re.compile(r"^(-e|--editable)\b|^(\.{1,2}/|/|[A-Za-z0-9+.-]+://|git\+)|\s@\s")
_COMPILED = re.compile(r"autogenerated by pip-compile|uv pip compile|pip-compile|pdm export")
_STRICT_LINE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[A-Za-z0-9._,\s-]*\])?\s*"
    r"((===?|>=|<=|~=|!=|>|<)\s*[A-Za-z0-9.*+!_-]+\s*(,\s*(===?|>=|<=|~=|!=|>|<)\s*"
    r"[A-Za-z0-9.*+!_-]+\s*)*)?(;[^#]*?)?(\s+--[a-z-]+(=|\s+)\S+)*\s*\\?$"
)
# The global options pip accepts in a requirements file (-r, -c and -e are read apart); any
# other dash word (`-H "Authorization: ..."`) is a line pip refuses.
_OPTION = re.compile(
    r"^(-i|--index-url|--extra-index-url|--no-index|-f|--find-links|--no-binary"
    r"|--only-binary|--prefer-binary|--require-hashes|--pre|--trusted-host|--use-feature)"
    r"(\s|=|$)"
)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) with comments removed and ``\\`` continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    text = text.removeprefix("\ufeff")  # a byte order mark, as pip drops it
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].split("\t#", 1)[0]
        # Runs of white space as one space: the syntax patterns then cannot backtrack
        # over them (2,500 spaces in one line took minutes).
        line = "" if line.lstrip().startswith("#") else " ".join(line.split())
        if pending is not None:
            start, before = pending
            line, pending = f"{before} {line}".strip(), None
            number = start
        if line.endswith("\\"):
            pending = (number, line[:-1].strip())
            continue
        if line:
            lines.append((number, line))
    if pending is not None and pending[1]:
        lines.append(pending)
    return lines


def read_requirements(text: str, source: str) -> RequirementsFile:
    """The whole of a requirements file. A line that is no requirements syntax (prose, a
    stray command) is noted by its number, never its text, and the other lines are read."""
    pins, references, direct, unreadable = [], [], [], []
    for number, line in _logical_lines(text):
        reference = _REFERENCE.match(line)
        if reference is not None:
            constraint = reference.group(1) in ("-c", "--constraint")
            references.append(Reference(number, reference.group(2), constraint))
        elif _DIRECT.search(line):
            direct.append((number, _reference_shown(line)))
        elif not _OPTION.match(line) and not _STRICT_LINE.match(line):
            unreadable.append(number)
        elif (pin := _pin(number, line, source)) is not None:
            pins.append(pin)
    return RequirementsFile(
        pins=tuple(pins),
        references=tuple(references),
        direct=tuple(direct),
        compiled=bool(_COMPILED.search("\n".join(text.splitlines()[:12]))),
        unreadable=tuple(unreadable),
    )


def _version_shown(version: str, quoted: bool = True) -> str:
    """A version as written, unless it is too long to be one (a pasted token, say)."""
    if len(version) > 24:
        return f"<{len(version)} characters, not shown>"
    return repr(version) if quoted else version


def _reference_shown(line: str) -> str:
    """The direct reference of ``line`` (``-e X``, ``name @ URL`` or a path or URL) without
    the words after it: a stray ``./deploy.sh --token ...`` shows its first word only."""
    words = line.split(" ")
    if words[0] in ("-e", "--editable"):
        shown = " ".join(words[:2])
    elif len(words) >= 3 and words[1] == "@":
        shown = " ".join(words[:3])
    else:
        shown = words[0]
    shown = shown if len(shown) <= 80 else shown[:80]
    return shown if shown == line else f"{shown} ..."


def looks_like_requirements(text: str) -> bool:
    """True when a line pins or references, and such lines are at least as many as the
    lines that are no requirements syntax (a stray line must not hide a file's pins).

    Used to find requirements files by content, whatever their name (``base.txt``).
    """
    meaningful = stray = 0
    for _, line in _logical_lines(text):
        if _REFERENCE.match(line):
            meaningful += 1
        elif _OPTION.match(line) or _DIRECT.search(line):
            continue
        elif _STRICT_LINE.match(line):
            meaningful += any(op in line for op in ("==", ">=", "<=", "~=", "<", ">"))
        else:
            stray += 1
    return meaningful > 0 and stray <= meaningful


def unchecked_lines(
    manifest: str, file: RequirementsFile, pinned_elsewhere: dict[str, str]
) -> list[Unchecked]:
    """The lines of ``file`` no exact pin covers: ranged pins and direct references.

    ``pinned_elsewhere`` maps a package to the ``path:line`` of an exact pin in a file this
    one references (``-r``/``-c``); a ranged line of such a package is audited there.
    """
    found = [
        Unchecked(
            manifest,
            pin.line,
            pin.name,
            f"not an exact pin ({pin.name}{pin.operator or ''}"
            f"{_version_shown(pin.version or '', quoted=False)}); only `==` pins are audited: "
            "pin it, or compile a lock (`uv pip compile`)",
        )
        for pin in file.pins
        if not pin.exact and pin.name not in pinned_elsewhere
    ]
    found += [
        Unchecked(
            manifest,
            line,
            text,
            "a direct reference (URL, path or VCS) has no released version to look up",
        )
        for line, text in file.direct
    ]
    found += [
        Unchecked(
            manifest,
            line,
            "not requirements syntax",
            "pip install -r refuses this line, and so the whole file; its text is not shown "
            "(it may hold a secret)",
        )
        for line in file.unreadable
    ]
    return sorted(found, key=lambda u: (u.line or 0, u.name))


def parse_requirements(text: str, source: str) -> list[Pin]:
    """Requirements of a pip requirements file, each at the first line of its logical line
    (``\\`` continuations joined); options and includes are left out."""
    return [pin for number, line in _logical_lines(text) if (pin := _pin(number, line, source))]


def _pin(number: int, line: str, source: str) -> Pin | None:
    """The requirement of one logical line; None for an option, include or direct reference."""
    if line.startswith("-") or "://" in line or _DIRECT.search(line):
        return None
    match = _REQUIREMENT.match(line)
    if match is None:
        raise ConfigError(
            f"{source}:{number}: cannot read a requirement there (the line is not shown: "
            "it may hold a secret)"
        )
    name, _, operator, version = match.groups()
    return Pin(canonical_name(name), operator, version or None, number)


def unpinned(pins: list[Pin]) -> list[Pin]:
    """Requirements that are not exact pins (they would need resolving)."""
    return [p for p in pins if not p.exact]


def _v1_nodes(dependencies: object, prefix: str, source: str) -> dict[str, str]:
    """``node_modules/...`` path -> version of a lockfileVersion 1 ``dependencies`` tree."""
    if not isinstance(dependencies, dict):
        raise ConfigError(f"{source}: `dependencies` is not an object")
    found: dict[str, str] = {}
    for name, entry in dependencies.items():
        if not isinstance(entry, dict) or "version" not in entry:
            raise ConfigError(f"{source}: dependency {name!r} has no version object")
        path = f"{prefix}node_modules/{name}"
        found[path] = str(entry["version"])
        if "dependencies" in entry:
            found.update(_v1_nodes(entry["dependencies"], f"{path}/", source))
    return found


def npm_lock_versions(text: str, source: str) -> dict[str, str]:
    """``node_modules/...`` path -> version of a package-lock.json (lockfileVersion 1-3)."""
    try:
        lock = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}:{error.lineno}: not valid JSON: {error.msg}") from None
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if isinstance(lock, dict) and packages is None and lock.get("lockfileVersion") == 1:
        return _v1_nodes(lock.get("dependencies", {}), "", source)
    if not isinstance(packages, dict):
        raise ConfigError(f"{source}: no `packages` section (not an npm lockfile of version 1-3)")
    return {
        path: str(entry["version"])
        for path, entry in packages.items()
        if path and isinstance(entry, dict) and "version" in entry
    }
