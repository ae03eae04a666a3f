"""Read a frontend app from disk: the files detection needs, and the set to deploy.

The deploy set honours ``.vercelignore`` (or, without one, ``.gitignore``) and never
contains ``node_modules``, ``.git`` or an ``.env*`` file other than ``.env.example``.
Symlinks are not followed. Build output, normally ignored, is added on request so the
sandbox edge has real bytes to serve (Vercel itself rebuilds and ignores it).
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

from pathspec import GitIgnoreSpec
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from orchestra_ops.domain.frontend.code_env import CODE_SUFFIXES
from orchestra_ops.domain.frontend.detect import Framework, Workspace
from orchestra_ops.errors import ConfigError

_TEXT_NAMES = (
    "package.json",
    "vercel.json",
    "Dockerfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    "vite.config.ts",
    "vite.config.mts",
    "vite.config.js",
    "vite.config.mjs",
    "next.config.js",
    "next.config.mjs",
    "next.config.ts",
)
_LOCKFILES = ("package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb")
_LOCK_HEAD = 2048  # enough to tell yarn berry (``__metadata:``) from classic
_CODE_SKIP_DIRS = {"node_modules", "dist", "build", "out", "coverage", "__tests__", "e2e"}
_MAX_CODE_FILES = 5000
_MAX_CODE_BYTES = 1024 * 1024
_NEVER = ("node_modules/", ".git/", ".vercel/", ".next/", "dist/")
_MAX_FILE_BYTES = 50 * 1024 * 1024


def read_app_texts(app_dir: Path) -> dict[str, str]:
    """The files detection and env migration read (lockfiles by name only)."""
    if not app_dir.is_dir():
        raise ConfigError(f"{app_dir}: not a directory", source=str(app_dir))
    texts = {}
    for name in _TEXT_NAMES:
        path = app_dir / name
        if path.is_file():
            texts[name] = _read_text(path)
    texts.update(_lockfiles(app_dir))
    for name in (".yarnrc.yml",):
        if (app_dir / name).is_file():
            texts[name] = ""
    for path in sorted(app_dir.glob(".env*")):
        if path.is_file():
            texts[path.name] = _read_text(path)
    return texts


def _lockfiles(directory: Path) -> dict[str, str]:
    """Lockfile name -> the head of its text (only yarn.lock's head is ever read)."""
    found = {}
    for name in _LOCKFILES:
        path = directory / name
        if path.is_file():
            head = ""
            if name == "yarn.lock":
                with path.open("rb") as handle:
                    head = handle.read(_LOCK_HEAD).decode("utf-8", "replace")
            found[name] = head
    return found


def _members(root: Path) -> list[str]:
    """The workspace globs a directory declares (package.json or pnpm-workspace.yaml)."""
    globs: list[str] = []
    manifest = root / "package.json"
    if manifest.is_file():
        try:
            data = json.loads(_read_text(manifest))
        except json.JSONDecodeError as error:
            raise ConfigError(
                f"{manifest}:{error.lineno}: not valid JSON: {error.msg}", source=str(manifest)
            ) from None
        declared = data.get("workspaces") if isinstance(data, dict) else None
        if isinstance(declared, dict):
            declared = declared.get("packages")
        if isinstance(declared, list):
            globs += [str(g) for g in declared]
    pnpm = root / "pnpm-workspace.yaml"
    if pnpm.is_file():
        try:
            data = YAML(typ="safe", pure=True).load(_read_text(pnpm)) or {}
        except YAMLError as error:
            raise ConfigError(f"{pnpm}: not valid YAML: {error}", source=str(pnpm)) from None
        packages = data.get("packages") if isinstance(data, dict) else None
        if isinstance(packages, list):
            globs += [str(g) for g in packages]
    return globs


def _glob_matches(parts: list[str], pattern: list[str]) -> bool:
    """Workspace glob semantics: ``*`` stays within one folder, ``**`` spans any depth."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_glob_matches(parts[i:], pattern[1:]) for i in range(len(parts) + 1))
    return (
        bool(parts)
        and fnmatch.fnmatchcase(parts[0], pattern[0])
        and (_glob_matches(parts[1:], pattern[1:]))
    )


def _is_member(member: str, globs: list[str]) -> bool:
    included = [g for g in globs if not g.startswith("!")]
    excluded = [g[1:] for g in globs if g.startswith("!")]
    parts = member.split("/")

    def matches(pattern: str) -> bool:
        cleaned = pattern.strip().removeprefix("./").rstrip("/")
        return _glob_matches(parts, [p for p in cleaned.split("/") if p not in ("", ".")])

    return any(matches(g) for g in included) and not any(matches(g) for g in excluded)


def find_workspace(repo_root: Path, app_dir: Path) -> Workspace | None:
    """The workspace whose root (at or below ``repo_root``) declares ``app_dir`` a member.

    Only for an app without a lockfile of its own: such an app installs and builds from
    the workspace root, where the lockfile is.
    """
    if _lockfiles(app_dir):
        return None
    repo_root, app_dir = repo_root.resolve(), app_dir.resolve()
    current = app_dir.parent
    while current.is_relative_to(repo_root):
        globs = _members(current)
        if globs or _lockfiles(current):
            member = app_dir.relative_to(current).as_posix()
            if not _is_member(member, globs):
                return None
            manifest = current / "package.json"
            files = {"package.json": _read_text(manifest) if manifest.is_file() else "{}"}
            files.update(_lockfiles(current))
            if (current / ".yarnrc.yml").is_file():
                files[".yarnrc.yml"] = ""
            depth = len(app_dir.relative_to(current).parts)
            return Workspace("/".join([".."] * depth), member, files)
        if current == repo_root:
            break
        current = current.parent
    return None


def read_code_texts(app_dir: Path) -> dict[str, str]:
    """The app's own source files (not dependencies, build output or tests), by path."""
    texts: dict[str, str] = {}
    for root, dirs, names in os.walk(app_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _CODE_SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if not name.endswith(CODE_SUFFIXES) or ".test." in name or ".spec." in name:
                continue
            if path.is_symlink() or path.stat().st_size > _MAX_CODE_BYTES:
                continue
            texts[path.relative_to(app_dir).as_posix()] = path.read_text(
                encoding="utf-8", errors="replace"
            )
            if len(texts) >= _MAX_CODE_FILES:
                return texts
    return texts


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start}); is it a binary file by mistake?",
            source=str(path),
        ) from None


def _is_env_file(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return name.startswith(".env") and name != ".env.example"


def _ignore_spec(app_dir: Path) -> GitIgnoreSpec:
    for name in (".vercelignore", ".gitignore"):
        path = app_dir / name
        if path.is_file():
            return GitIgnoreSpec.from_lines(path.read_text(encoding="utf-8").splitlines())
    return GitIgnoreSpec.from_lines([])


def _check_name(app_dir: Path, relative: str) -> None:
    """Refuse a path Vercel cannot take: not UTF-8, or with control characters."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        shown = relative.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise ConfigError(
            f"{app_dir}/{shown}: the file name is not UTF-8; rename it or add it to .vercelignore",
            source=str(app_dir / shown),
        ) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in relative):
        raise ConfigError(
            f"{app_dir}: {relative!r}: the file name holds a control character (a newline?); "
            "rename it or add it to .vercelignore",
            source=str(app_dir),
        )


def _check_symlink(app_dir: Path, path: Path, relative: str) -> None:
    """A directory symlink back into its own ancestors is a cycle: refuse it by name."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return  # dangling or a loop of links: skipped like every symlink
    if target.is_dir() and path.parent.resolve().is_relative_to(target):
        raise ConfigError(
            f"{app_dir}/{relative}: a symlink to its own parent directory (a cycle); remove "
            "it or add it to .vercelignore",
            source=str(path),
        )


def deploy_paths(app_dir: Path) -> dict[str, Path]:
    """Relative path -> file of everything a deployment should carry, checked, sorted.

    Raises ConfigError naming the file for a name Vercel cannot take, a file over
    50 MB or a symlink cycle; nothing is read, so this is cheap to run first.
    """
    spec = _ignore_spec(app_dir)
    paths: dict[str, Path] = {}
    for root, dirs, names in os.walk(app_dir, followlinks=False):
        base = Path(root).relative_to(app_dir).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(
            d
            for d in dirs
            if f"{prefix}{d}/" not in _NEVER and not spec.match_file(f"{prefix}{d}/")
        )
        for name in sorted(names + [d for d in dirs if (Path(root) / d).is_symlink()]):
            relative = f"{prefix}{name}"
            path = Path(root) / name
            if _is_env_file(relative) or spec.match_file(relative):
                continue
            _check_name(app_dir, relative)
            if path.is_symlink():
                _check_symlink(app_dir, path, relative)
                continue
            if not path.is_file():
                continue
            if path.stat().st_size > _MAX_FILE_BYTES:
                raise ConfigError(
                    f"{path}: larger than 50 MB; add it to .vercelignore", source=str(path)
                )
            paths[relative] = path
    return dict(sorted(paths.items()))


def deploy_files(app_dir: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file a deployment should carry, sorted by path."""
    return {relative: path.read_bytes() for relative, path in deploy_paths(app_dir).items()}


def check_deploy_set(app_dir: Path) -> int:
    """Refuse what Vercel would refuse, before anything is created; returns the file count."""
    return len(deploy_paths(app_dir))


def _is_next_static(path: Path) -> bool:
    return path.suffix == ".html" or ".next/static/" in path.as_posix()


def build_output_files(
    app_dir: Path, framework: Framework, output_directory: str
) -> dict[str, bytes]:
    """The build output Vercel would serve statically, as relative path -> bytes."""
    if framework is Framework.NEXTJS:
        roots = [app_dir / ".next" / "server" / "app", app_dir / ".next" / "static"]
    else:
        roots = [app_dir / output_directory]
    files = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if not path.is_file() or path.is_symlink():
                continue
            if framework is Framework.NEXTJS and not _is_next_static(path):
                continue
            files[path.relative_to(app_dir).as_posix()] = path.read_bytes()
    manifest = app_dir / ".next" / "routes-manifest.json"
    if framework is Framework.NEXTJS and manifest.is_file():  # next.config's rewrites
        files[".next/routes-manifest.json"] = manifest.read_bytes()
    return files
