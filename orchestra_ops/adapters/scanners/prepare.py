"""What each manifest gives the scanners: its exact pins, the tools' input files, and the
entries no scanner can check (named with their line and reason).

- A requirements file: its own exact ``==`` lines, written to a generated pinned file (the
  original may include other files with ``-r`` or hold ranges, which pip-audit refuses
  without resolving). A ranged line is covered when a file it references (``-r``/``-c``,
  transitively) pins the same package exactly; otherwise it is listed as not checked.
- ``poetry.lock``, ``uv.lock``, ``Pipfile.lock``: their pins, written as a requirements file.
- ``pnpm-lock.yaml``, ``yarn.lock``, ``bun.lock``: their pins, written as a package-lock.json
  (v3) for ``npm audit``.
- ``package-lock.json``/``npm-shrinkwrap.json``: audited where they are.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_ops.adapters.lockfiles import read_lock
from orchestra_ops.adapters.lockfiles.npm_lock import package_json, package_lock_v3
from orchestra_ops.adapters.scanners.discover import file_head, read_manifest, reference_target
from orchestra_ops.domain.security.installs import read_installs
from orchestra_ops.domain.security.manifest_text import bytes_per_unit
from orchestra_ops.domain.security.manifests import (
    LockedPackage,
    RequirementsFile,
    Unchecked,
    canonical_name,
    npm_lock_versions,
    python_pins,
    read_requirements,
    unchecked_lines,
)
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, lock_lines
from orchestra_ops.errors import ScanError


@dataclass(frozen=True)
class Prepared:
    """One manifest ready for its scanners."""

    manifest: Manifest
    packages: tuple[LockedPackage, ...]
    unchecked: tuple[Unchecked, ...] = ()
    inputs: tuple[Path, ...] = ()  # pinned requirements files, or the lockfile npm reads
    nodes: dict[str, str] = field(default_factory=dict)  # npm: node path -> version
    node_lines: dict[str, int] = field(default_factory=dict)  # npm: node path -> line

    def lines(self) -> dict[str, int]:
        """``name==version`` and ``name`` -> the manifest line pinning it."""
        found: dict[str, int] = {}
        for package in self.packages:
            if package.line is not None:
                name = canonical_name(package.name)
                found.setdefault(f"{name}=={package.version}", package.line)
                found.setdefault(name, package.line)
        return found


class _Requirements:
    """Requirements files of one repository, each read once."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo.resolve()
        self.cache: dict[Path, RequirementsFile | None] = {}

    def read(self, path: Path) -> RequirementsFile | None:
        """The file read once; None when it cannot be read (discovery lists it)."""
        if path not in self.cache:
            try:
                self.cache[path] = read_requirements(read_manifest(path), str(path))
            except (OSError, ValueError):
                self.cache[path] = None
        return self.cache[path]

    def pinned_in_references(self, path: Path) -> dict[str, str]:
        """Package -> ``file:line`` of an exact pin in a file ``path`` references."""
        found: dict[str, str] = {}
        seen, queue = {path}, [path]
        while queue:
            current = queue.pop()
            file = self.read(current)
            for reference in file.references if file else ():
                target = (current.parent / reference.target).resolve()
                if target in seen or not target.is_file() or not target.is_relative_to(self.repo):
                    continue  # a missing or outside file is listed by missing()
                seen.add(target)
                queue.append(target)
                referenced = self.read(target)
                for pin in referenced.exact if referenced else ():
                    found.setdefault(pin.name, f"{self._rel(target)}:{pin.line}")
        return found

    def missing(self, manifest: str, path: Path) -> list[Unchecked]:
        """The ``-r``/``-c`` lines whose file is absent or outside the repository."""
        file = self.read(path)
        found = []
        for reference in file.references if file else ():
            target = (path.parent / reference.target).resolve()
            if not target.is_file():
                reason = "the referenced file does not exist; its pins are not checked"
            elif not target.is_relative_to(self.repo):
                reason = "the referenced file is outside the repository; it is not scanned"
            else:
                continue
            flag = "-c" if reference.constraint else "-r"
            found.append(Unchecked(manifest, reference.line, f"{flag} {reference.target}", reason))
        return found

    def _rel(self, path: Path) -> str:
        return (
            path.relative_to(self.repo).as_posix() if path.is_relative_to(self.repo) else str(path)
        )


def _batches(packages: list[LockedPackage]) -> list[list[LockedPackage]]:
    """Groups with one version per name (a requirements file may pin a name once)."""
    batches: list[list[LockedPackage]] = []
    for package in packages:
        target = next((b for b in batches if all(p.name != package.name for p in b)), None)
        if target is None:
            batches.append(target := [])
        target.append(package)
    return batches


def _write_requirements(packages: list[LockedPackage], workdir: Path) -> tuple[Path, ...]:
    folder = Path(tempfile.mkdtemp(prefix="pins-", dir=workdir))
    paths = []
    for number, batch in enumerate(_batches(packages)):
        path = folder / f"pinned-{number}.txt"
        path.write_text("".join(f"{p.name}=={p.version}\n" for p in batch), encoding="utf-8")
        paths.append(path)
    return tuple(paths)


def _js_lock(manifest: Manifest, text: str, workdir: Path) -> Prepared:
    parsed = read_lock(text, manifest.path)
    lock, nodes = package_lock_v3(parsed.packages)
    folder = Path(tempfile.mkdtemp(prefix="npm-lock-", dir=workdir))
    (folder / "package.json").write_text(package_json(), encoding="utf-8")
    (folder / "package-lock.json").write_text(lock, encoding="utf-8")
    return Prepared(
        manifest,
        tuple(parsed.packages),
        tuple(parsed.unchecked),
        (folder / "package-lock.json",) if parsed.packages else (),
        {path: pin.version for path, pin in nodes.items()},
        {path: pin.line for path, pin in nodes.items() if pin.line is not None},
    )


def _npm_lock(manifest: Manifest, text: str, path: Path) -> Prepared:
    if bytes_per_unit(file_head(path)) > 1:  # npm audit reads the file itself
        raise ScanError(
            f"{manifest.path} is UTF-16 or UTF-32 text: npm reads lockfiles as UTF-8 only "
            "(npm ci cannot use it either); save it as UTF-8"
        )
    versions = npm_lock_versions(text, manifest.path)
    packages = tuple(
        LockedPackage(node.rsplit("node_modules/", 1)[-1], version)
        for node, version in sorted(versions.items())
    )
    return Prepared(manifest, packages, (), (path,), versions, lock_lines(text, versions))


def prepare(repo: Path, manifest: Manifest, text: str, workdir: Path) -> Prepared:
    """Pins, inputs and unchecked entries of one manifest; ConfigError if it is unreadable."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = repo / manifest.path
    if manifest.kind is ManifestKind.NPM_LOCK:
        return _npm_lock(manifest, text, path)
    if manifest.kind is ManifestKind.JS_LOCK:
        return _js_lock(manifest, text, workdir)
    if manifest.kind is ManifestKind.PYTHON_LOCK:
        parsed = read_lock(text, manifest.path)
        packages, unchecked = parsed.packages, parsed.unchecked
    elif manifest.kind is ManifestKind.INSTALLED:
        installs = read_installs(text, manifest.path)
        packages, unchecked = installs.exact, installs.unchecked(manifest.path)
        unchecked += [
            Unchecked(manifest.path, r.line, r.target, "installs from a file not in the repository")
            for r in installs.references
            if reference_target(repo, manifest.path, r.target) is None
        ]
    else:
        requirements = _Requirements(repo)
        file = read_requirements(text, manifest.path)
        resolved = path.resolve()
        elsewhere = requirements.pinned_in_references(resolved)
        packages = file.exact
        unchecked = unchecked_lines(manifest.path, file, elsewhere)
        unchecked += requirements.missing(manifest.path, resolved)
    packages, invalid = python_pins(manifest.path, packages)
    unchecked = sorted([*unchecked, *invalid], key=lambda u: (u.line or 0, u.name))
    inputs = _write_requirements(packages, workdir) if packages else ()
    return Prepared(manifest, tuple(packages), tuple(unchecked), inputs)
