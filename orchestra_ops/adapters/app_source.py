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


def deploy_files(app_dir: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file a deployment should carry, sorted by path."""
    spec = _ignore_spec(app_dir)
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(app_dir, followlinks=False):
        base = Path(root).relative_to(app_dir).as_posix()
        prefix = "" if base == "." else f"{base}/"
        dirs[:] = sorted(
            d
            for d in dirs
            if f"{prefix}{d}/" not in _NEVER and not spec.match_file(f"{prefix}{d}/")
        )
        for name in sorted(names):
            relative = f"{prefix}{name}"
            path = Path(root) / name
            if path.is_symlink() or _is_env_file(relative) or spec.match_file(relative):
                continue
            if path.stat().st_size > _MAX_FILE_BYTES:
                raise ConfigError(f"{path}: larger than 50 MB; add it to .vercelignore")
            files[relative] = path.read_bytes()
    return dict(sorted(files.items()))


def check_deploy_set(app_dir: Path) -> int:
    """Refuse what Vercel would refuse, before anything is created; returns the file count."""
    return len(deploy_files(app_dir))


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
    return files
