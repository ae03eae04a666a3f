"""Generated dependency-update configuration: Dependabot and Renovate (pure), and diffs.

Content is the roadmap's Improvement 3 (phases 3A and 3B), brought up to date:

- Dependabot: ``reviewers`` is gone from the schema (GitHub moved reviewer assignment to
  CODEOWNERS), so only ``assignees`` is kept from the plan.
- Renovate: the plan's ``config:base`` preset is deprecated and is written as its current
  name ``config:recommended``; ``matchPackagePatterns: ["^@types/"]`` is deprecated and is
  written as ``matchPackageNames: ["/^@types//"]`` (a regex inside slashes).
"""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported

PLAN_NPM = {"/admin-interface": ("deps-frontend", 10), "/dashboard": ("deps-dashboard", None)}
PLAN_ASSIGNEES = ("scoobyjava",)
_JS_LOCK_NAMES = {"package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"}


def _directory(path: str) -> str:
    parent = PurePosixPath(path).parent.as_posix()
    return "/" if parent == "." else f"/{parent}"


def update_directories(
    manifests: Iterable[Manifest], unsupported: Iterable[Unsupported] = ()
) -> tuple[list[str], list[str]]:
    """(pip directories, npm directories) of a repo, from discovery's results.

    Dependabot updates pnpm and yarn projects too, so their lockfiles count for npm.
    """
    manifests = list(manifests)
    python = {_directory(m.path) for m in manifests if m.kind is ManifestKind.REQUIREMENTS}
    npm = {_directory(m.path) for m in manifests if m.kind is ManifestKind.NPM_LOCK}
    npm |= {_directory(u.path) for u in unsupported if PurePosixPath(u.path).name in _JS_LOCK_NAMES}
    return sorted(python), sorted(npm)


def _pip_update(directory: str, assignees: Sequence[str]) -> dict[str, Any]:
    update: dict[str, Any] = {
        "package-ecosystem": "pip",
        "directory": directory,
        # Quoted: a YAML 1.1 reader (Dependabot's is one) reads a bare 09:00 as 540.
        "schedule": {
            "interval": "daily",
            "time": DoubleQuotedScalarString("09:00"),
            "timezone": "America/Los_Angeles",
        },
        "commit-message": {
            "prefix": "security",
            "prefix-development": "deps-dev",
            "include": "scope",
        },
        "open-pull-requests-limit": 15,
        "allow": [{"dependency-type": "all"}],
        "groups": {"security-updates": {"applies-to": "security-updates", "patterns": ["*"]}},
    }
    if assignees:
        update["assignees"] = list(assignees)
    return update


def _npm_update(directory: str) -> dict[str, Any]:
    prefix, limit = PLAN_NPM.get(directory, ("deps-frontend", None))
    update: dict[str, Any] = {
        "package-ecosystem": "npm",
        "directory": directory,
        "schedule": {"interval": "weekly"},
        "commit-message": {"prefix": prefix},
    }
    if limit is not None:
        update["open-pull-requests-limit"] = limit
    return update


def dependabot_config(
    python_dirs: Sequence[str] = ("/",),
    npm_dirs: Sequence[str] = tuple(PLAN_NPM),
    assignees: Sequence[str] = PLAN_ASSIGNEES,
) -> dict[str, Any]:
    """``.github/dependabot.yml``: pip daily for every Python directory, npm weekly."""
    python = sorted(set(python_dirs) | {"/"})
    return {
        "version": 2,
        "updates": [_pip_update(d, assignees) for d in python]
        + [_npm_update(d) for d in sorted(set(npm_dirs))],
    }


def renovate_config() -> dict[str, Any]:
    """``renovate.json`` of the plan, with current preset and matcher names."""
    return {
        "$schema": "https://docs.renovatebot.com/renovate-schema.json",
        "extends": ["config:recommended", "security:openssf-scorecard"],
        "schedule": ["before 6am on monday"],
        "separateMinorPatch": True,
        "separateMultipleMajor": True,
        "separateMajorMinor": True,
        "vulnerabilityAlerts": {"enabled": True, "schedule": ["at any time"]},
        "osvVulnerabilityAlerts": True,
        "packageRules": [
            {
                "matchPackageNames": ["/^@types//"],
                "groupName": "type definitions",
                "automerge": True,
            },
            {
                "matchDepTypes": ["devDependencies"],
                "automerge": True,
                "minimumReleaseAge": "3 days",
            },
        ],
    }


def to_yaml(document: dict[str, Any], header: str = "") -> str:
    """Block-style YAML with a comment header (generated files say what made them)."""
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(document, stream)
    return header + stream.getvalue()


def to_json(document: dict[str, Any]) -> str:
    """Pretty JSON with a trailing newline."""
    return json.dumps(document, indent=2) + "\n"


GENERATED_HEADER = "# Generated by orchestra-ops (dependency security, roadmap phase 3).\n"


def config_diff(existing: str | None, generated: str, path: str) -> str:
    """The unified diff from the file as it is (None: absent) to the generated one."""
    before = (existing or "").splitlines(keepends=True)
    after = generated.splitlines(keepends=True)
    source = f"a/{path}" if existing is not None else "/dev/null"
    return "".join(difflib.unified_diff(before, after, fromfile=source, tofile=f"b/{path}"))
