"""The preflight build: install and build an app, with its new configuration, in a copy.

A migration that would break the build fails here, before any deploy. The copy leaves
the target repo untouched; the build's output is returned for the sandbox edge.
An app inside a workspace is built the way the workspace builds: the whole workspace is
copied, installed at its root (where the lockfile is) and the app's member built there.
npm runs as itself; pnpm and yarn from PATH or through ``npm exec``. Without node,
or without a way to run the package manager, the build is *skipped*, and says so: it is
never a silent pass.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestra_ops.adapters.app_source import build_output_files
from orchestra_ops.adapters.build_cache import BuildCache, build_key
from orchestra_ops.adapters.child_env import NODE_TOOLS, child_env
from orchestra_ops.domain.frontend.detect import AppProfile
from orchestra_ops.errors import ConfigError
from orchestra_ops.ports.app_build import BuildOutcome

_COPY_IGNORE = shutil.ignore_patterns("node_modules", ".next", "dist", ".git", ".vercel")
_LOG_TAIL = 40


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced (build logs may echo the environment)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout_s: float, secrets: list[str]
) -> None:
    shown = " ".join([Path(args[0]).name, *args[1:]])
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"`{' '.join(args)}` in {cwd.name} took longer than {timeout_s:.0f} s"
        ) from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-_LOG_TAIL:])
        raise ConfigError(
            f"preflight `{shown}` failed with exit {done.returncode}; the migration "
            f"would break the build. Last lines:\n{redact(tail, secrets)}"
        )


def _tool(name: str, version: str | None) -> list[str] | None:
    """How to run the package manager ``name``: itself from PATH, else through ``npm exec``
    at the version ``packageManager`` pins (yarn 2+ is ``@yarnpkg/cli-dist``); None: no way.

    Not corepack: the one on this kind of machine refuses current releases (stale
    signing keys), and npm checks the package's registry integrity just the same.
    """
    found = shutil.which(name)
    if found:
        return [found]
    npm = shutil.which("npm")
    if npm is None or name not in ("pnpm", "yarn"):
        return None
    package = f"{name}@{version or 'latest'}"
    if name == "yarn":
        berry = version is not None and not version.startswith("1.")
        package = f"@yarnpkg/cli-dist@{version}" if berry else f"yarn@{version or '1'}"
    return [npm, "exec", "--yes", f"--package={package}", "--", name]


def _copy(app_dir: Path, profile: AppProfile, work_dir: Path) -> tuple[Path, Path]:
    """(where install and build run, the app's copy) in ``work_dir``."""
    source = app_dir
    if profile.workspace_root:
        source = (app_dir / profile.workspace_root).resolve()
    root = work_dir / profile.name.replace("/", "_")
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(source, root, ignore=_COPY_IGNORE, symlinks=True)
    return root, root / profile.workspace_member if profile.workspace_member else root


def preflight_build(
    app_dir: Path,
    profile: AppProfile,
    overrides: Mapping[str, str],
    build_env: Mapping[str, str],
    work_dir: Path,
    *,
    timeout_s: float = 900,
    cache: BuildCache | None = None,
) -> BuildOutcome:
    """Copy the app, write ``overrides`` (new configs), install and build; raise on failure.

    The build sees an allow-listed environment (``child_env``) plus ``build_env``: never
    the worker's credentials or another app's secrets. With a ``cache``, a lockfile-pinned
    build whose inputs were built before is not run again: its output is reused, and the
    outcome says so.
    """
    if shutil.which("node") is None:
        return BuildOutcome("skipped", "node is not on PATH; the build was not checked")
    install, build = profile.install_command.split(), profile.build_command.split()
    tool = _tool(install[0], profile.manager_version)
    if tool is None:
        return BuildOutcome(
            "skipped", f"{install[0]} is not on PATH and npm cannot run it; not checked"
        )
    root, copy = _copy(app_dir, profile, work_dir)
    for relative, text in overrides.items():
        (copy / relative).write_text(text, encoding="utf-8")
    env = child_env(
        NODE_TOOLS,
        {
            **build_env,
            "VERCEL": "1",  # as on Vercel: next.config keeps `standalone` off
            "CI": "1",
            "NEXT_TELEMETRY_DISABLED": "1",
        },
    )
    commands = [[*tool, *install[1:]], [*tool, *build[1:]]]
    where = (
        f" at the workspace root of {profile.workspace_member}" if profile.workspace_member else ""
    )
    ran = f"`{profile.install_command} && {profile.build_command}`"
    # Kept only when the lockfile pins the packages and the package manager is a known one
    # (not `npm exec pnpm@latest`, which may be another release tomorrow).
    pinned = profile.lockfile is not None and (len(tool) == 1 or profile.manager_version)
    key = None
    if cache is not None and pinned:
        key = build_key(
            root, commands, env, f"{profile.framework.value}\0{profile.output_directory}"
        )
        kept = cache.get(key) if key is not None else None
        if kept is not None:
            return BuildOutcome(
                "reused",
                f"install and build not run: {ran}{where} passed at {kept.built_at} on the "
                "same sources, configuration, lockfile, commands, node and environment, and "
                f"its output (kept in {cache.directory}) is used",
                kept.output,
            )
    secrets = list(build_env.values())
    for command in commands:
        _run(command, root, env, timeout_s, secrets)
    output = build_output_files(copy, profile.framework, profile.output_directory)
    detail = f"{ran} passed{where}"
    if cache is not None and pinned:
        not_kept = cache.put(key, output) if key else "a symlink in the sources leads out of them"
        if not_kept:
            detail += f" (not kept for reuse: {not_kept})"
    return BuildOutcome("built", detail, output)


@dataclass(frozen=True)
class NodeBuild:
    """Implements :class:`~orchestra_ops.ports.app_build.AppBuild` with node and the app's
    package manager, reusing builds kept in ``cache`` (None: none kept)."""

    cache: BuildCache | None = None
    timeout_s: float = 900

    def preflight(
        self,
        app_dir: Path,
        profile: AppProfile,
        overrides: Mapping[str, str],
        build_env: Mapping[str, str],
        work_dir: Path,
    ) -> BuildOutcome:
        """See :func:`preflight_build`."""
        return preflight_build(
            app_dir,
            profile,
            overrides,
            build_env,
            work_dir,
            timeout_s=self.timeout_s,
            cache=self.cache,
        )
