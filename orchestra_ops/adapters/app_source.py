"""Read a frontend app from disk: the files detection needs, and the set to deploy.

The deploy set honours ``.vercelignore`` (or, without one, ``.gitignore``) and never
contains ``node_modules``, ``.git`` or an ``.env*`` file other than ``.env.example``.
Symlinks are not followed. Build output, normally ignored, is added on request so the
sandbox edge has real bytes to serve (Vercel itself rebuilds and ignores it).
"""

from __future__ import annotations

import os
from pathlib import Path

from pathspec import GitIgnoreSpec

from orchestra_ops.domain.frontend.detect import Framework
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
    for name in _LOCKFILES:
        if (app_dir / name).is_file():
            texts[name] = ""
    for path in sorted(app_dir.glob(".env*")):
        if path.is_file():
            texts[path.name] = _read_text(path)
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
