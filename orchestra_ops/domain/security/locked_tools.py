"""Hash-pinned requirements for a tool, cut out of a uv/pip-compile lock (pure text).

A generated workflow installs pip-audit with ``pip install --require-hashes``: every
package at an exact version with its hashes, so nothing a registry serves later can
change what runs. The versions and hashes come from the product's own
``requirements.lock`` (made by ``uv pip compile --generate-hashes``): the closure of
the tool is every locked package reachable from it through the lock's ``# via``
annotations, which name each package's dependants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


class LockError(ValueError):
    """The lock text is not a hash-pinned lock, or lacks the asked-for tool."""


@dataclass(frozen=True)
class LockedPackage:
    """One package of the lock: its name, exact version, hashes and dependants."""

    name: str
    version: str
    hashes: tuple[str, ...]
    dependants: frozenset[str]

    def requirement(self) -> str:
        """The package as a hash-checked requirement (pip's multi-line form)."""
        lines = [f"{self.name}=={self.version}", *(f"    {h}" for h in self.hashes)]
        return " \\\n".join(lines)


def normalise(name: str) -> str:
    """PEP 503 name normalisation (``Foo_Bar`` and ``foo-bar`` are one package)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _via(comment: str) -> str | None:
    """The dependant named by a ``# via`` comment line, if it names one."""
    text = comment.lstrip("#").strip().removeprefix("via").strip()
    if not text or text.startswith("-r "):
        return None
    return normalise(text.split()[0])


def _blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, requirement line, the indented lines under it) of each package."""
    blocks: list[tuple[int, str, list[str]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().removesuffix("\\").strip()
        if not line:
            continue
        if not raw[0].isspace() and not line.startswith("#"):
            blocks.append((number, line, []))
        elif blocks:
            blocks[-1][2].append(line)
    return blocks


def parse_lock(text: str, source: str = "requirements.lock") -> dict[str, LockedPackage]:
    """The packages of a ``--generate-hashes`` lock, by normalised name."""
    packages: dict[str, LockedPackage] = {}
    for number, head, lines in _blocks(text):
        match = _REQUIREMENT.match(head)
        if match is None:
            raise LockError(f"{source}:{number}: not an exact '==' pin: {head[:60]}")
        hashes = tuple(line for line in lines if line.startswith("--hash="))
        if not hashes or not all(_HASH.match(h) for h in hashes):
            raise LockError(
                f"{source}:{number}: {match[1]} needs sha256 hashes (lock with --generate-hashes)"
            )
        dependants = {_via(line) for line in lines if line.startswith("#")}
        packages[normalise(match[1])] = LockedPackage(
            name=match[1],
            version=match[2],
            hashes=hashes,
            dependants=frozenset(d for d in dependants if d is not None),
        )
    return packages


def closure(packages: dict[str, LockedPackage], roots: Iterable[str]) -> list[LockedPackage]:
    """The roots and every locked package they need, sorted by name."""
    wanted = {normalise(r) for r in roots}
    missing = sorted(wanted - set(packages))
    if missing:
        raise LockError(f"not in the lock: {', '.join(missing)}")
    grown = True
    while grown:
        grown = False
        for key, package in packages.items():
            if key not in wanted and package.dependants & wanted:
                wanted.add(key)
                grown = True
    return sorted((packages[k] for k in wanted), key=lambda p: normalise(p.name))


def hashed_requirements(lock_text: str, roots: Iterable[str], header: str) -> str:
    """A ``--require-hashes`` requirements file for ``roots``, cut from ``lock_text``."""
    needed = closure(parse_lock(lock_text), roots)
    return header + "".join(p.requirement() + "\n" for p in needed)
