"""One app's migration plan: the config files to write, the env to set, and how to show it.

Pure: assembled from the app's file texts, its code, the backend URL and the current
Vercel env. The API routes come from the app's own config (``api_routes``), never an
assumed ``/api``. Two things make a plan a refusal (:func:`refusal`), decided before
anything changes in Vercel: a proxy key or rewrite that cannot be read (the operator
passes ``api_prefixes`` instead), and a variable the code needs (``code_env``) that has
a value neither in the migrated env nor in the project's env on Vercel.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import unified_diff

from orchestra_ops.domain.frontend.api_routes import (
    ApiRoute,
    ApiRoutes,
    merge_declared,
    next_routes,
    vite_routes,
)
from orchestra_ops.domain.frontend.code_env import CodeRead, code_reads, unmet
from orchestra_ops.domain.frontend.detect import AppProfile, Framework, Workspace, detect_app
from orchestra_ops.domain.frontend.env_plan import (
    Change,
    EnvChange,
    EnvPlan,
    diff_env,
    plan_env,
    points_at_localhost,
)
from orchestra_ops.domain.frontend.env_sources import (
    FoundVar,
    parse_compose,
    parse_dockerfile,
    parse_dotenv,
)
from orchestra_ops.domain.frontend.next_config import ManualEditRequired, edit_next_config
from orchestra_ops.domain.frontend.vercel_config import generate_vercel_json
from orchestra_ops.domain.vercel import EnvVar, ProjectSettings
from orchestra_ops.errors import ConfigError

#: The prefix a Next.js app without rewrites of its own gets routed to the backend
#: (next.config's generated rewrite, the dashboard's documented shape).
NEXT_API_PREFIX = "/api"
_NEXT_CONFIGS = ("next.config.js", "next.config.mjs", "next.config.ts")
_COMPOSE = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")


@dataclass(frozen=True)
class MigrationPlan:
    """Everything the migration of one app will change."""

    app: str
    profile: AppProfile
    config_files: dict[str, str]  # relative path -> new text (only files that change)
    config_diffs: dict[str, str]  # relative path -> unified diff
    env: EnvPlan
    env_changes: tuple[EnvChange, ...]
    api_prefixes: tuple[str, ...] = ()  # path prefixes the rewrites send to the backend
    routes: ApiRoutes = field(default_factory=ApiRoutes)
    reads: tuple[CodeRead, ...] = ()  # what the app's code reads
    unmet: tuple[CodeRead, ...] = ()  # required reads with no value anywhere
    #: variables the code reads whose migrated value names this machine: "KEY (source)"
    local_only: tuple[str, ...] = ()

    @property
    def site_path(self) -> str:
        """Where the deployed app serves its index: a Next.js ``basePath`` moves it; a
        Vite ``base`` does not (its files are served from the root, see vercel_config)."""
        return self.routes.base_path if self.profile.framework is Framework.NEXTJS else ""

    @property
    def env_writes_needed(self) -> bool:
        """True when some variable is added or changed on some target."""
        settled = (Change.UNCHANGED, Change.ONLY_ON_VERCEL)
        return any(c.change not in settled for c in self.env_changes)


def _found_env(app: str, texts: Mapping[str, str]) -> list[FoundVar]:
    found: list[FoundVar] = []
    if "Dockerfile" in texts:
        found += parse_dockerfile(texts["Dockerfile"], f"{app}/Dockerfile")
    for name in _COMPOSE:
        if name in texts:
            found += parse_compose(texts[name], f"{app}/{name}")
    for name, text in texts.items():
        if name.startswith(".env"):
            found += parse_dotenv(text, f"{app}/{name}")
    return found


def _diff(path: str, old: str, new: str) -> str:
    lines = unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(lines)


def _config_files(
    app: str,
    profile: AppProfile,
    texts: Mapping[str, str],
    backend_api_url: str,
    routes: ApiRoutes,
) -> dict[str, str]:
    existing = None
    if "vercel.json" in texts:
        try:
            existing = json.loads(texts["vercel.json"])
        except json.JSONDecodeError as error:
            raise ConfigError(f"{app}/vercel.json:{error.lineno}: not valid JSON") from None
        if existing is not None and not isinstance(existing, dict):
            raise ConfigError(f"{app}/vercel.json: must hold a JSON object")
    vercel_json = generate_vercel_json(profile, backend_api_url, existing, routes)
    files = {"vercel.json": json.dumps(vercel_json, indent=2) + "\n"}
    if profile.framework is Framework.NEXTJS:
        name = next((n for n in _NEXT_CONFIGS if n in texts), None)
        if name is None:
            raise ConfigError(f"{app}: a Next.js app without next.config.(js|mjs|ts)")
        if not (routes.own_rewrites and "standalone" not in texts[name]):
            prefixes = tuple(r.prefix.removeprefix(routes.base_path) for r in routes.routes)
            edit = edit_next_config(
                texts[name],
                f"{app}/{name}",
                backend_api_url,
                add_rewrite=not routes.own_rewrites,
                prefixes=prefixes or (NEXT_API_PREFIX,),
            )
            files[name] = edit.text
    return {path: text for path, text in files.items() if texts.get(path) != text}


def api_routes(
    profile: AppProfile, texts: Mapping[str, str], declared: tuple[str, ...] | None = None
) -> ApiRoutes:
    """The app's backend routes from its config, or as the operator declared them."""
    if profile.framework is Framework.VITE:
        found = vite_routes(texts)
    else:
        found = next_routes(texts)
        if not found.own_rewrites and not found.unreadable:
            route = ApiRoute(found.base_path + NEXT_API_PREFIX, False, "generated rewrite")
            found = ApiRoutes((route,), found.base_path)
    return merge_declared(found, declared)


def _editable(
    app: str, profile: AppProfile, texts: Mapping[str, str], backend_api_url: str, routes: ApiRoutes
) -> ApiRoutes:
    """The routes, without the generated Next.js ``/api`` rewrite when next.config cannot
    be edited safely and needs no other change: the app routes its API some other way
    already, so stopping for a hand edit of a rewrite nobody asked for helps no one."""
    name = next((n for n in _NEXT_CONFIGS if n in texts), None)
    if profile.framework is not Framework.NEXTJS or routes.own_rewrites or name is None:
        return routes
    if any(r.source != "generated rewrite" for r in routes.routes):
        return routes  # declared by the operator: the edit is wanted
    try:
        edit_next_config(texts[name], f"{app}/{name}", backend_api_url)
    except ManualEditRequired:
        if "standalone" in texts[name]:
            raise
        return ApiRoutes((), routes.base_path, routes.unreadable, own_rewrites=True)
    return routes


def refusal(plan: MigrationPlan) -> str | None:
    """Why this plan must not be carried out, in one message; None when it may."""
    reasons = []
    if plan.routes.unreadable:
        reasons.append(
            "API routes that cannot be read from the app's config: "
            + "; ".join(plan.routes.unreadable)
            + '. Pass the parameter api_prefixes (e.g. ["/backend"]) to say which paths '
            "go to the backend, or write these entries as plain literals"
        )
    if plan.routes.dev_only:
        reasons.append(
            "rewrites send requests to a development address, which production on Vercel "
            "cannot reach: "
            + "; ".join(plan.routes.dev_only)
            + ". Point them at the backend (e.g. `${process.env.BACKEND_URL}/:path*`, with "
            "BACKEND_URL in the env) and run again"
        )
    if plan.local_only:
        reasons.append(
            "values the app's code reads name this machine (localhost), which production "
            "on Vercel cannot reach: "
            + "; ".join(plan.local_only)
            + ". Set them in env_overrides (e.g. to the backend_api_url)"
        )
    if plan.unmet:
        reasons.append(
            "variables the app's code needs have no value in the migrated env nor on "
            "Vercel: "
            + "; ".join(f"{r.key} (read at {', '.join(r.places[:3])})" for r in plan.unmet)
            + ". Set them in env_overrides, or ORCHESTRA_SECRET_<KEY> on the worker"
        )
    return f"{plan.app}: " + ". ".join(reasons) if reasons else None


def plan_migration(
    app: str,
    texts: Mapping[str, str],
    backend_api_url: str,
    current_env: list[EnvVar],
    overrides: Mapping[str, str],
    secrets: Mapping[str, str] | None = None,
    *,
    code: Mapping[str, str] | None = None,
    workspace: Workspace | None = None,
    declared_prefixes: tuple[str, ...] | None = None,
) -> MigrationPlan:
    """The whole plan for ``app``; raises ConfigError naming the file at fault.

    ``overrides`` set (or add) values; ``secrets`` only fill keys the app declares or
    its code reads. ``code`` is the app's source, for the variables it reads.
    """
    profile = detect_app(app, texts, workspace)
    routes = _editable(
        app, profile, texts, backend_api_url, api_routes(profile, texts, declared_prefixes)
    )
    config = _config_files(app, profile, texts, backend_api_url, routes)
    found = _found_env(app, texts)
    reads = code_reads(profile.framework, {**(code or {}), **texts})
    declared = {var.key for var in found} | {r.key for r in reads}
    values = {k: v for k, v in (secrets or {}).items() if k in declared}
    given = {**values, **overrides}
    env = plan_env(profile.framework, found, given)
    available = {v.key for v in env.variables} | {v.key for v in current_env}
    read_keys = {r.key for r in reads}
    local_only = tuple(
        f"{v.key} ({v.sources[0]})"
        for v in env.variables
        if v.key in read_keys
        and v.key not in given
        and points_at_localhost(v.value.get_secret_value())
    )
    return MigrationPlan(
        app=app,
        profile=profile,
        config_files=config,
        config_diffs={p: _diff(p, texts.get(p, ""), t) for p, t in config.items()},
        env=env,
        env_changes=tuple(diff_env(env, current_env)),
        api_prefixes=routes.prefixes,
        routes=routes,
        reads=tuple(reads),
        unmet=tuple(unmet(reads, available)),
        local_only=local_only,
    )


def source_digest(files: Mapping[str, bytes], settings: Mapping[str, str | None]) -> str:
    """A digest of what a deployment would carry: every path and content, and the settings."""
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(
            path.encode() + b"\0" + hashlib.sha1(files[path], usedforsecurity=False).digest()
        )
    hasher.update(json.dumps(dict(settings), sort_keys=True).encode())
    return hasher.hexdigest()[:32]


def plan_summary(plan: MigrationPlan) -> list[str]:
    """The plan in a few lines for the run's report (the artifact holds it whole)."""
    p = plan.profile
    routes = ", ".join(r.prefix for r in plan.routes.routes) or "none"
    changes = Counter(c.change.value for c in plan.env_changes)
    lines = [
        f"{p.framework}: build `{p.build_command}` into `{p.output_directory}`"
        + (f", at the workspace root `{p.workspace_root}`" if p.workspace_root else ""),
        f"API routes to the backend: {routes}"
        + (f" (served under {plan.routes.base_path})" if plan.routes.base_path else ""),
        "config files changed: " + (", ".join(sorted(plan.config_files)) or "none"),
        "env: " + (", ".join(f"{n} {what}" for what, n in sorted(changes.items())) or "none"),
    ]
    lines += [f"cannot tell: {u}" for u in plan.routes.unreadable]
    lines += [f"required, no value: {r.key}" for r in plan.unmet]
    lines += [f"names this machine (localhost): {where}" for where in plan.local_only]
    lines += [f"not migrated, no usable value: {key}" for key, _ in plan.env.missing]
    return lines


def render_plan(plan: MigrationPlan) -> str:
    """The plan as Markdown for the Prefect UI; env values masked."""
    p = plan.profile
    lines = [
        f"# Migration plan: {plan.app}",
        "",
        f"- framework **{p.framework}**, package manager {p.package_manager}, "
        f"build `{p.build_command}`, output `{p.output_directory}`",
    ]
    if p.workspace_member:
        lines.append(
            f"- workspace member `{p.workspace_member}`: install and build run at the "
            f"workspace root (`{p.workspace_root}` from the app)"
        )
    lines += ["", "## API routes (from the app's config)"]
    lines += [f"- `{r.prefix}/*` -> backend ({r.source})" for r in plan.routes.routes]
    if plan.routes.base_path:
        lines.append(f"- served under base path `{plan.routes.base_path}`")
    if not plan.routes.routes and not plan.routes.unreadable:
        lines.append("- none found: the app calls its backend by absolute URL")
    lines += [f"- **cannot tell**: {u}" for u in plan.routes.unreadable]
    if plan.unmet:
        lines += ["", "## Required by the code, no value anywhere (the run refuses)"]
        lines += [f"- {r.key} (read at {', '.join(r.places)})" for r in plan.unmet]
    lines += ["", "## Configuration changes"]
    if not plan.config_diffs:
        lines.append("None: the configuration is already migrated.")
    for path, diff in plan.config_diffs.items():
        lines += [f"### {path}", "```diff", diff.rstrip("\n"), "```"]
    lines += ["", "## Environment", "| key | target | change | value |", "|---|---|---|---|"]
    lines += [
        f"| {c.key} | {c.target} | {c.change} | `{c.shown_value}` |" for c in plan.env_changes
    ]
    if plan.env.missing:
        lines += ["", "Not migrated, no usable value (set `ORCHESTRA_SECRET_<KEY>` on the worker):"]
        lines += [f"- {key} (from {', '.join(where)})" for key, where in plan.env.missing]
    if plan.env.skipped:
        lines += ["", "Skipped:"] + [f"- {key}: {why}" for key, why in plan.env.skipped]
    if plan.env.warnings:
        lines += ["", "Warnings:"] + [f"- {w}" for w in plan.env.warnings]
    return "\n".join(lines) + "\n"


_ONE_MAJOR = re.compile(r"\s*[\^~]?v?(\d+)(?:\.(?:\d+|x|\*))*\s*")


def node_version(engine: str | None) -> str | None:
    """Vercel's ``nodeVersion`` (``"20.x"``) for an ``engines.node`` that names one major
    line (``20``, ``20.x``, ``^20.11``); None (Vercel's default) for an open range."""
    found = _ONE_MAJOR.fullmatch(engine or "")
    return f"{found.group(1)}.x" if found else None


def project_settings(profile: AppProfile) -> ProjectSettings:
    """The Vercel build settings for a detected app.

    A workspace member is deployed as Vercel's git integration deploys a monorepo: the
    whole workspace is uploaded (see :func:`upload_dir`) with Root Directory set to the
    member, where Vercel runs the commands; they start at the workspace root
    (``cd ../.. && npm ci``), where the lockfile is.
    """
    at_root = f"cd {profile.workspace_root} && " if profile.workspace_root else ""
    return ProjectSettings(
        node_version=node_version(profile.node_engine),
        framework=profile.framework.value,
        build_command=at_root + profile.build_command,
        install_command=at_root + profile.install_command,
        output_directory=profile.output_directory if profile.framework is Framework.VITE else None,
        root_directory=profile.workspace_member,
    )


def upload_dir(profile: AppProfile) -> str:
    """What a deployment uploads, relative to the app: a workspace member's whole
    workspace (its Root Directory is the member), else the app's own folder."""
    return profile.workspace_root or "."
