"""Detect what a frontend app is from its files: framework, commands, output, tooling.

Pure: the caller reads the files and passes their text keyed by path relative to the
app (``package.json``, ``vite.config.ts``, lockfile names with any content), and, for an
app inside a workspace whose lockfile sits above it, a :class:`Workspace`. A framework
the migration does not support (SvelteKit, Astro, Create React App...) is refused by
name, even when it builds with Vite underneath.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orchestra_ops.errors import ConfigError


class Framework(StrEnum):
    """Frameworks the migration knows, spelt as Vercel's ``framework`` setting spells them."""

    VITE = "vite"
    NEXTJS = "nextjs"


class PackageManager(StrEnum):
    """Package managers, told apart by their lockfiles."""

    NPM = "npm"
    PNPM = "pnpm"
    YARN = "yarn"
    BUN = "bun"


_LOCKFILES = {
    "package-lock.json": PackageManager.NPM,
    "pnpm-lock.yaml": PackageManager.PNPM,
    "yarn.lock": PackageManager.YARN,
    "bun.lock": PackageManager.BUN,
    "bun.lockb": PackageManager.BUN,
}
#: Dependencies that mark a framework Vercel builds differently from a plain Vite SPA.
UNSUPPORTED = {
    "@sveltejs/kit": "SvelteKit",
    "astro": "Astro",
    "react-scripts": "Create React App",
    "nuxt": "Nuxt",
    "@remix-run/dev": "Remix",
    "@react-router/dev": "React Router (framework mode)",
    "gatsby": "Gatsby",
    "@angular/core": "Angular",
    "@solidjs/start": "SolidStart",
    "@builder.io/qwik-city": "Qwik City",
    "@vue/cli-service": "Vue CLI",
    # Server-rendered apps built with Vite: their output is a server, not dist/index.html.
    "@tanstack/react-start": "TanStack Start",
    "@tanstack/solid-start": "TanStack Start",
    "@tanstack/start": "TanStack Start",
    "nitro": "Nitro",
    "nitropack": "Nitro",
    "vinxi": "Vinxi",
    "vike": "Vike",
    "@analogjs/platform": "Analog",
    "@redwoodjs/core": "RedwoodJS",
}
_VITE_CONFIGS = ("vite.config.ts", "vite.config.mts", "vite.config.js", "vite.config.mjs")
_OUT_DIR = re.compile(r"""outDir\s*:\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class AppProfile:
    """What Vercel needs to know to build an app, as detected from its files."""

    name: str
    framework: Framework
    build_command: str
    install_command: str
    output_directory: str
    package_manager: PackageManager
    node_engine: str | None
    lockfile: str | None
    #: For a workspace member: the path from the app to the workspace root ("../..")
    #: and the app's path from the root ("apps/web"); install and build run at the root.
    workspace_root: str | None = None
    workspace_member: str | None = None
    #: The version ``packageManager`` pins ("10.12.1"), the preflight runs that one.
    manager_version: str | None = None

    @property
    def is_spa(self) -> bool:
        """A client-side app whose unknown paths must fall back to index.html."""
        return self.framework is Framework.VITE


def parse_package_json(text: str, source: str) -> dict[str, Any]:
    """Parse package.json text; ConfigError with ``source:line`` when it is not valid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{source}:{error.lineno}: not valid JSON: {error.msg}", source=source
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must hold a JSON object", source=source)
    return data


def _dependencies(package: dict[str, Any], source: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for section in ("dependencies", "devDependencies"):
        value = package.get(section, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {section} must be an object", source=source)
        merged.update({str(k): str(v) for k, v in value.items()})
    return merged


@dataclass(frozen=True)
class Workspace:
    """The workspace an app belongs to: its root relative to the app, and the root's files."""

    root: str  # "../.." from the app
    member: str  # "apps/web" from the root
    files: Mapping[str, str]  # the root's package.json, pnpm-workspace.yaml, lockfiles


def _package_manager(package: dict[str, Any], files: Mapping[str, str]) -> PackageManager:
    declared = package.get("packageManager")
    if isinstance(declared, str) and "@" in declared:
        name = declared.split("@", 1)[0]
        if name in PackageManager.__members__.values():
            return PackageManager(name)
    for lockfile, manager in _LOCKFILES.items():
        if lockfile in files:
            return manager
    return PackageManager.NPM


def _run(manager: PackageManager, script: str) -> str:
    return f"yarn {script}" if manager is PackageManager.YARN else f"{manager} run {script}"


def _workspace_run(manager: PackageManager, member: str, package_name: str) -> str:
    """The build of one workspace member, run at the workspace root."""
    if manager is PackageManager.NPM:
        return f"npm run build --workspace={member}"
    if manager is PackageManager.PNPM:
        return f"pnpm --filter ./{member} run build"
    if manager is PackageManager.BUN:
        return f"bun run --filter ./{member} build"
    return f"yarn workspace {package_name} run build"


def is_yarn_berry(package: dict[str, Any], files: Mapping[str, str]) -> bool:
    """Yarn 2+ (berry): declared, or a lockfile with berry's ``__metadata``."""
    declared = str(package.get("packageManager", ""))
    if declared.startswith("yarn@") and not declared.startswith("yarn@1."):
        return True
    return "__metadata:" in files.get("yarn.lock", "") or ".yarnrc.yml" in files


def _install(manager: PackageManager, has_lockfile: bool, berry: bool = False) -> str:
    frozen = {
        PackageManager.NPM: "npm ci",
        PackageManager.PNPM: "pnpm install --frozen-lockfile",
        PackageManager.YARN: "yarn install --immutable"
        if berry
        else "yarn install --frozen-lockfile",
        PackageManager.BUN: "bun install --frozen-lockfile",
    }
    return frozen[manager] if has_lockfile else f"{manager} install"


def _framework(deps: dict[str, str], source: str) -> Framework:
    if "next" in deps:
        return Framework.NEXTJS
    unsupported = sorted({name for dep, name in UNSUPPORTED.items() if dep in deps})
    if unsupported:
        raise ConfigError(
            f"{source}: {' / '.join(unsupported)} is not supported by the migration (only "
            "Next.js and plain Vite apps are); migrate it by hand",
            source=source,
        )
    if "vite" in deps:
        return Framework.VITE
    raise ConfigError(
        f"{source}: neither next nor vite is a dependency; only Next.js and Vite apps "
        "can be migrated",
        source=source,
    )


def _vite_out_dir(name: str, files: Mapping[str, str]) -> str:
    """``build.outDir``, which must stay inside the app: Vercel serves its output from
    the project's folder, and the deploy uploads nothing outside it."""
    for config in _VITE_CONFIGS:
        if config in files:
            found = _OUT_DIR.search(files[config])
            if found:
                out_dir = found.group(1).removeprefix("./").rstrip("/") or "dist"
                if out_dir.startswith("/") or ".." in out_dir.split("/"):
                    raise ConfigError(
                        f"{name}/{config}: build.outDir {out_dir!r} leaves the app's folder; "
                        "Vercel serves the build from inside the project: set it to a "
                        "folder of the app (e.g. dist) and migrate again",
                        source=f"{name}/{config}",
                    )
                return out_dir
    return "dist"


def detect_app(
    name: str, files: Mapping[str, str], workspace: Workspace | None = None
) -> AppProfile:
    """Profile the app ``name`` from its files; ConfigError when it cannot be migrated."""
    source = f"{name}/package.json"
    if "package.json" not in files:
        raise ConfigError(f"{source}: missing; is {name} a Node.js app?", source=source)
    package = parse_package_json(files["package.json"], source)
    framework = _framework(_dependencies(package, source), source)
    scripts = package.get("scripts", {})
    if not isinstance(scripts, dict) or "build" not in scripts:
        raise ConfigError(f"{source}: has no scripts.build to build the app", source=source)
    lockfile = next((lf for lf in _LOCKFILES if lf in files), None)
    tooling, root_package = files, package
    if workspace is not None and lockfile is None:
        tooling = workspace.files
        root_package = parse_package_json(
            workspace.files.get("package.json", "{}"), f"{name}/{workspace.root}/package.json"
        )
        lockfile = next((lf for lf in _LOCKFILES if lf in tooling), None)
    else:
        workspace = None
    manager = _package_manager({**package, **root_package}, tooling)
    berry = is_yarn_berry(root_package, tooling)
    build = _run(manager, "build")
    if workspace is not None:
        build = _workspace_run(manager, workspace.member, str(package.get("name", name)))
    engines = package.get("engines") or root_package.get("engines") or {}
    node = engines.get("node") if isinstance(engines, dict) else None
    declared = str({**package, **root_package}.get("packageManager", ""))
    version = None
    if declared.startswith(f"{manager}@"):
        version = declared.split("@", 1)[1].split("+", 1)[0] or None
    return AppProfile(
        name=name,
        framework=framework,
        build_command=build,
        install_command=_install(manager, lockfile is not None, berry),
        output_directory=(".next" if framework is Framework.NEXTJS else _vite_out_dir(name, files)),
        package_manager=manager,
        node_engine=str(node) if node else None,
        lockfile=lockfile,
        workspace_root=workspace.root if workspace else None,
        workspace_member=workspace.member if workspace else None,
        manager_version=version,
    )
