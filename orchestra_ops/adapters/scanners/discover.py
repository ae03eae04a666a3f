"""Find every manifest of a target repository, by name, place and content; skip none silently.

Scanned:

- requirements files: any ``*requirements*.txt``/``.in``, ``constraints*.txt`` or ``.txt``
  in a ``requirements*/`` folder, any other ``.txt``/``.in`` whose content is requirements
  syntax, and every file a ``-r``/``-c`` line of one of those points to;
- ``package-lock.json`` and ``npm-shrinkwrap.json`` (npm audit reads them as they are);
- ``poetry.lock``, ``uv.lock``, ``Pipfile.lock`` (pins audited by pip-audit and safety);
- ``pnpm-lock.yaml``, ``yarn.lock`` (v1 and berry), ``bun.lock`` (pins audited by npm audit).

Listed as not scanned, each with its reason: a ``.in`` whose compiled ``.txt`` is scanned,
a file named like requirements that is not requirements syntax, ``pyproject.toml``,
``Pipfile`` and ``package.json`` (covered by a lock, or with no lock to audit), a binary
``bun.lockb`` and lock formats not read yet (``pdm.lock``, ``pylock.toml``).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from orchestra_ops.adapters.lockfiles import JS_LOCKS, PYTHON_LOCKS
from orchestra_ops.domain.security.manifests import looks_like_requirements, read_requirements
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported
from orchestra_ops.errors import ConfigError, OpsError

# Installed packages, caches and build metadata: never a project's own manifests.
SKIPPED_DIRS = frozenset(
    {"node_modules", ".venv", "venv", ".git", "__pycache__", ".tox", ".nox", "site-packages"}
    | {".mypy_cache", ".pytest_cache", ".ruff_cache", ".yarn", ".pnpm-store"}
)
_NAMED = ("*requirements*.txt", "*requirements*.in", "requirements*.lock", "constraints*.txt")
_SNIFF_LIMIT = 512 * 1024
_NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
_NOT_READ = {
    "bun.lockb": "a binary bun lockfile cannot be read; write the text lock with "
    "`bun install --save-text-lockfile` (bun.lock) and it is audited",
    "pdm.lock": "pdm.lock is not read yet; export it (`pdm export -o requirements.txt`) "
    "and the export is audited",
    "pylock.toml": "pylock.toml is not read yet; export a requirements file to audit it",
}


def _walk(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info"))
        base = Path(folder).relative_to(root).as_posix()
        found += [f if base == "." else f"{base}/{f}" for f in sorted(files)]
    return found


def _text(repo: Path, path: str, limit: int | None = None) -> str | None:
    target = repo / path
    try:
        if limit is not None and target.stat().st_size > limit:
            return None
        return target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _named_requirements(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name.lower()
    if any(fnmatch.fnmatch(name, pattern) for pattern in _NAMED):
        return True
    in_folder = any(part.lower().startswith("requirements") for part in pure.parts[:-1])
    return in_folder and pure.suffix in (".txt", ".in")


def _referenced(repo: Path, path: str, text: str) -> list[str]:
    """Repo-relative paths the ``-r``/``-c`` lines of ``path`` point to (existing files)."""
    try:
        references = read_requirements(text, path).references
    except OpsError:
        return []
    found = []
    for reference in references:
        target = (repo / path).parent / reference.target
        try:
            relative = target.resolve().relative_to(repo.resolve()).as_posix()
        except ValueError:
            continue  # outside the repository: the reader lists it as not checked
        if target.is_file():
            found.append(relative)
    return found


def _requirements(repo: Path, files: list[str]) -> tuple[list[Manifest], list[Unsupported]]:
    named = {f for f in files if _named_requirements(f)}
    sniffed = {
        f
        for f in files
        if f not in named
        and PurePosixPath(f).suffix in (".txt", ".in")
        and looks_like_requirements(_text(repo, f, _SNIFF_LIMIT) or "")
    }
    queue, candidates = sorted(named | sniffed), set(named | sniffed)
    while queue:
        path = queue.pop()
        for target in _referenced(repo, path, _text(repo, path) or ""):
            if target not in candidates:
                candidates.add(target)
                queue.append(target)
    manifests, unsupported = [], []
    for path in sorted(candidates):
        compiled = str(PurePosixPath(path).with_suffix(".txt"))
        if path.endswith(".in") and compiled in candidates:
            reason = f"the input of {compiled}, whose compiled pins are scanned instead"
            unsupported.append(Unsupported(path, reason))
            continue
        text = _text(repo, path)
        if text is None:
            unsupported.append(Unsupported(path, "not readable as UTF-8 text"))
            continue
        try:
            read_requirements(text, path)
        except ConfigError as error:
            unsupported.append(Unsupported(path, f"not requirements syntax: {error}"))
            continue
        manifests.append(Manifest(path, ManifestKind.REQUIREMENTS))
    return manifests, unsupported


def _locks(files: list[str]) -> tuple[list[Manifest], list[Unsupported]]:
    manifests, unsupported = [], []
    for path in files:
        name = PurePosixPath(path).name
        if name in _NPM_LOCKS:
            manifests.append(Manifest(path, ManifestKind.NPM_LOCK))
        elif name in PYTHON_LOCKS:
            manifests.append(Manifest(path, ManifestKind.PYTHON_LOCK))
        elif name in JS_LOCKS:
            manifests.append(Manifest(path, ManifestKind.JS_LOCK))
        elif name in _NOT_READ:
            sibling = str(PurePosixPath(path).with_name("bun.lock"))
            if name == "bun.lockb" and sibling in files:
                unsupported.append(Unsupported(path, f"binary twin of {sibling}, scanned instead"))
            else:
                unsupported.append(Unsupported(path, _NOT_READ[name]))
    return manifests, unsupported


def _covers(repo: Path, manifest: Manifest, folder: PurePosixPath, texts: dict[str, str]) -> bool:
    """A manifest in ``folder``, its requirements/ folder, or a workspace lock above it that
    names ``folder`` (pnpm importers, yarn/bun workspaces, uv/poetry path sources)."""
    where = PurePosixPath(manifest.path).parent
    if where == folder:
        return True
    if manifest.kind is ManifestKind.REQUIREMENTS:
        return where.parent == folder and where.name.lower().startswith("requirements")
    if where not in folder.parents:
        return False
    member = folder.relative_to(where).as_posix()
    if manifest.path not in texts:
        texts[manifest.path] = _text(repo, manifest.path) or ""
    return member in texts[manifest.path]


def _declarations(
    repo: Path, files: list[str], scanned: list[Manifest], unread: list[Unsupported]
) -> list[Unsupported]:
    """pyproject.toml, Pipfile and package.json: covered by a scanned lock, or why not."""
    python = {ManifestKind.REQUIREMENTS, ManifestKind.PYTHON_LOCK}
    npm = {ManifestKind.NPM_LOCK, ManifestKind.JS_LOCK}
    found: list[Unsupported] = []
    texts: dict[str, str] = {}
    for path in files:
        name = PurePosixPath(path).name
        if name not in ("pyproject.toml", "Pipfile", "package.json"):
            continue
        is_npm = name == "package.json"
        kinds = npm if is_npm else python
        folder = PurePosixPath(path).parent
        covering = sorted(
            m.path for m in scanned if m.kind in kinds and _covers(repo, m, folder, texts)
        )
        beside = [u.path for u in unread if PurePosixPath(u.path).parent == folder]
        if covering:
            reason = f"declares ranges; its resolved pins are scanned in {', '.join(covering)}"
        elif beside:
            reason = f"declares ranges; its lock {beside[0]} cannot be read (see that entry)"
        elif is_npm:
            reason = "package.json has no lockfile (here or in a workspace root above); "
            reason += "npm audit needs one: run `npm install --package-lock-only`"
        else:
            reason = (
                f"{name} declares ranges, not versions, and no lock or pinned requirements "
                "file is next to it; add one (`uv lock`, `uv pip compile`) to audit it"
            )
        found.append(Unsupported(path, reason))
    return found


def discover(repo: Path) -> tuple[list[Manifest], list[Unsupported]]:
    """The scannable manifests of ``repo`` and every other candidate with why it is not
    scanned, both sorted by path."""
    if not repo.is_dir():
        raise ConfigError(f"cannot scan {repo}: it is not a directory", source=str(repo))
    files = _walk(repo)
    manifests, unsupported = _requirements(repo, files)
    locks, not_read = _locks(files)
    manifests += locks
    unsupported += not_read + _declarations(repo, files, manifests, not_read)
    return sorted(manifests, key=lambda m: m.path), sorted(unsupported, key=lambda u: u.path)
