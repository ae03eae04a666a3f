"""One app's migration plan: the config files to write, the env to set, and how to show it.

Pure: assembled from the app's file texts, the backend URL and the current Vercel env.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import unified_diff

from orchestra_ops.domain.frontend.detect import AppProfile, Framework, detect_app
from orchestra_ops.domain.frontend.env_plan import Change, EnvChange, EnvPlan, diff_env, plan_env
from orchestra_ops.domain.frontend.env_sources import (
    FoundVar,
    parse_compose,
    parse_dockerfile,
    parse_dotenv,
)
from orchestra_ops.domain.frontend.next_config import edit_next_config
from orchestra_ops.domain.frontend.vercel_config import generate_vercel_json
from orchestra_ops.domain.vercel import EnvVar, ProjectSettings
from orchestra_ops.errors import ConfigError

#: The path prefix the generated rewrites send to the backend API.
API_PREFIX = "/api"
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
    app: str, profile: AppProfile, texts: Mapping[str, str], backend_api_url: str
) -> dict[str, str]:
    existing = None
    if "vercel.json" in texts:
        try:
            existing = json.loads(texts["vercel.json"])
        except json.JSONDecodeError as error:
            raise ConfigError(f"{app}/vercel.json:{error.lineno}: not valid JSON") from None
        if existing is not None and not isinstance(existing, dict):
            raise ConfigError(f"{app}/vercel.json: must hold a JSON object")
    vercel_json = generate_vercel_json(profile, backend_api_url, existing)
    files = {"vercel.json": json.dumps(vercel_json, indent=2) + "\n"}
    if profile.framework is Framework.NEXTJS:
        name = next((n for n in _NEXT_CONFIGS if n in texts), None)
        if name is None:
            raise ConfigError(f"{app}: a Next.js app without next.config.(js|mjs|ts)")
        files[name] = edit_next_config(texts[name], f"{app}/{name}", backend_api_url).text
    return {path: text for path, text in files.items() if texts.get(path) != text}


def plan_migration(
    app: str,
    texts: Mapping[str, str],
    backend_api_url: str,
    current_env: list[EnvVar],
    overrides: Mapping[str, str],
    secrets: Mapping[str, str] | None = None,
) -> MigrationPlan:
    """The whole plan for ``app``; raises ConfigError naming the file at fault.

    ``overrides`` set (or add) values; ``secrets`` only fill keys the app declares.
    """
    profile = detect_app(app, texts)
    config = _config_files(app, profile, texts, backend_api_url)
    found = _found_env(app, texts)
    declared = {var.key for var in found}
    values = {k: v for k, v in (secrets or {}).items() if k in declared}
    env = plan_env(profile.framework, found, {**values, **overrides})
    return MigrationPlan(
        app=app,
        profile=profile,
        config_files=config,
        config_diffs={p: _diff(p, texts.get(p, ""), t) for p, t in config.items()},
        env=env,
        env_changes=tuple(diff_env(env, current_env)),
        api_prefixes=(API_PREFIX,),
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


def render_plan(plan: MigrationPlan) -> str:
    """The plan as Markdown for the Prefect UI; env values masked."""
    p = plan.profile
    lines = [
        f"# Migration plan: {plan.app}",
        "",
        f"- framework **{p.framework}**, package manager {p.package_manager}, "
        f"build `{p.build_command}`, output `{p.output_directory}`",
        "",
        "## Configuration changes",
    ]
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


def project_settings(profile: AppProfile) -> ProjectSettings:
    """The Vercel build settings for a detected app."""
    return ProjectSettings(
        framework=profile.framework.value,
        build_command=profile.build_command,
        install_command=profile.install_command,
        output_directory=profile.output_directory if profile.framework is Framework.VITE else None,
    )
