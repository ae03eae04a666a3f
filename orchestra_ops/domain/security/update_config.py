"""Generated dependency-update configuration: one bot, Dependabot or Renovate (pure).

Both bots configured on one repository open the same update PRs, so exactly one is
generated: the one a setting names, else the one the repository already uses, else
Dependabot (:func:`choose_bot`); the other bot's existing file is reported, never
duplicated. Reviewers and assignees come from settings (none by default). Version
updates run weekly on the weekly scan's weekday, finishing before the scan starts, in
the scan's time zone; security updates are raised by the bots as advisories appear.

Content is the roadmap's Improvement 3 (phases 3A and 3B), brought up to date:

- Dependabot: ``reviewers`` is gone from the schema (GitHub moved reviewer assignment to
  CODEOWNERS), so only ``assignees`` is written, and only users (teams cannot be assigned).
- Renovate: the plan's ``config:base`` preset is deprecated and is written as its current
  name ``config:recommended``; ``matchPackagePatterns: ["^@types/"]`` is deprecated and is
  written as ``matchPackageNames: ["/^@types//"]`` (a regex inside slashes).
"""

from __future__ import annotations

import difflib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from orchestra_ops.domain.security.findings import Ecosystem
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported
from orchestra_ops.domain.security.workflow import SCAN_HOUR, SCAN_TIMEZONE, SCAN_WEEKDAY

PLAN_NPM = {"/admin-interface": ("deps-frontend", 10), "/dashboard": ("deps-dashboard", None)}


class UpdateBot(StrEnum):
    """The dependency-update bots a repository can be configured for."""

    DEPENDABOT = "dependabot"
    RENOVATE = "renovate"


#: Where each bot reads its configuration, the generated file's default first.
BOT_FILES = {
    UpdateBot.DEPENDABOT: (".github/dependabot.yml", ".github/dependabot.yaml"),
    UpdateBot.RENOVATE: (
        "renovate.json",
        "renovate.json5",
        ".github/renovate.json",
        ".github/renovate.json5",
        ".gitlab/renovate.json",
        ".gitlab/renovate.json5",
        ".renovaterc",
        ".renovaterc.json",
        ".renovaterc.json5",
    ),
}


@dataclass(frozen=True)
class BotChoice:
    """The bot to configure, the file to write, why, and the other bot's existing files."""

    bot: UpdateBot
    path: str
    reason: str
    other_files: tuple[str, ...]

    @property
    def other(self) -> UpdateBot:
        """The bot not chosen."""
        return next(b for b in UpdateBot if b is not self.bot)


def choose_bot(setting: str, present: Iterable[str]) -> BotChoice:
    """One bot: ``setting`` (auto, dependabot, renovate) and the config files ``present``."""
    present = set(present)
    found = {bot: [p for p in files if p in present] for bot, files in BOT_FILES.items()}
    if setting != "auto":
        bot, reason = UpdateBot(setting), f"ORCHESTRA_UPDATE_BOT={setting}"
    elif found[UpdateBot.DEPENDABOT] or found[UpdateBot.RENOVATE]:
        bot = UpdateBot.DEPENDABOT if found[UpdateBot.DEPENDABOT] else UpdateBot.RENOVATE
        reason = f"the repository already uses it ({found[bot][0]})"
    else:
        bot, reason = UpdateBot.DEPENDABOT, "no update bot is configured yet; the default"
    other = UpdateBot.RENOVATE if bot is UpdateBot.DEPENDABOT else UpdateBot.DEPENDABOT
    path = (found[bot] or [BOT_FILES[bot][0]])[0]
    return BotChoice(bot, path, reason, tuple(found[other]))


def bot_notes(choice: BotChoice, reviewers: Sequence[str], assignees: Sequence[str]) -> list[str]:
    """What a person should know about the choice (duplicates, settings not applicable)."""
    notes = [f"{choice.bot.value} configured in {choice.path}: {choice.reason}."]
    if choice.other_files:
        other = choice.other.value
        files = ", ".join(choice.other_files)
        notes.append(
            f"{files} configures {other} too, so both bots would open the same pull requests; "
            f"it was left alone and no {other} file was generated. Remove it, or choose "
            f"{other} with ORCHESTRA_UPDATE_BOT={other}."
        )
    if choice.bot is UpdateBot.DEPENDABOT:
        if reviewers:
            notes.append(
                "Dependabot has no reviewers option (GitHub requests reviews from "
                "CODEOWNERS): ORCHESTRA_UPDATE_REVIEWERS is not written."
            )
    teams = [a for a in assignees if a.startswith("team:")]
    if teams:
        notes.append(
            f"{choice.bot.value.capitalize()} assigns users only (GitHub cannot assign a "
            f"team); left out: {', '.join(teams)}."
        )
    return notes


def _dependabot_schedule() -> dict[str, Any]:
    """Weekly, on the scan's weekday, an hour before it, in its time zone."""
    # Quoted: a YAML 1.1 reader (Dependabot's is one) reads a bare 05:00 as 300.
    return {
        "interval": "weekly",
        "day": SCAN_WEEKDAY,
        "time": DoubleQuotedScalarString(f"{SCAN_HOUR - 1:02d}:00"),
        "timezone": SCAN_TIMEZONE,
    }


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
    npm = {_directory(m.path) for m in manifests if m.kind.ecosystem is Ecosystem.NPM}
    npm |= {_directory(u.path) for u in unsupported if PurePosixPath(u.path).name in _JS_LOCK_NAMES}
    return sorted(python), sorted(npm)


def _pip_update(directory: str) -> dict[str, Any]:
    return {
        "package-ecosystem": "pip",
        "directory": directory,
        "schedule": _dependabot_schedule(),
        "commit-message": {
            "prefix": "security",
            "prefix-development": "deps-dev",
            "include": "scope",
        },
        "open-pull-requests-limit": 15,
        "allow": [{"dependency-type": "all"}],
        "groups": {"security-updates": {"applies-to": "security-updates", "patterns": ["*"]}},
    }


def _npm_update(directory: str) -> dict[str, Any]:
    prefix, limit = PLAN_NPM.get(directory, ("deps-frontend", None))
    update: dict[str, Any] = {
        "package-ecosystem": "npm",
        "directory": directory,
        "schedule": _dependabot_schedule(),
        "commit-message": {"prefix": prefix},
    }
    if limit is not None:
        update["open-pull-requests-limit"] = limit
    return update


def dependabot_config(
    python_dirs: Sequence[str] = ("/",),
    npm_dirs: Sequence[str] = tuple(PLAN_NPM),
    assignees: Sequence[str] = (),
) -> dict[str, Any]:
    """``.github/dependabot.yml``: pip and npm weekly, before the scan; user assignees.

    An entry only for a directory that has a manifest of that ecosystem (Dependabot
    reports an error for an entry with nothing to update)."""
    python = sorted(set(python_dirs))
    updates = [_pip_update(d) for d in python] + [_npm_update(d) for d in sorted(set(npm_dirs))]
    users = [a for a in assignees if not a.startswith("team:")]
    if users:
        for update in updates:
            update["assignees"] = list(users)
    return {"version": 2, "updates": updates}


def _before_scan() -> str:
    """Renovate's words for the hours before the scan on its weekday."""
    hour = f"{SCAN_HOUR}am" if SCAN_HOUR <= 12 else f"{SCAN_HOUR - 12}pm"
    return f"before {hour} on {SCAN_WEEKDAY}"


def renovate_config(
    reviewers: Sequence[str] = (), assignees: Sequence[str] = (), *, automerge: bool = True
) -> dict[str, Any]:
    """``renovate.json`` of the plan, with current preset and matcher names.

    The plan's automerge rules (type definitions, devDependencies) wait 3 days after a
    release, so a release pulled soon after publication is never merged; ``automerge``
    false leaves every update to a person (the groups stay)."""
    config: dict[str, Any] = {
        "$schema": "https://docs.renovatebot.com/renovate-schema.json",
        "extends": ["config:recommended", "security:openssf-scorecard"],
        "timezone": SCAN_TIMEZONE,
        "schedule": [_before_scan()],
        "separateMinorPatch": True,
        "separateMultipleMajor": True,
        "separateMajorMinor": True,
        "vulnerabilityAlerts": {"enabled": True, "schedule": ["at any time"]},
        "osvVulnerabilityAlerts": True,
        "packageRules": [
            {"matchPackageNames": ["/^@types//"], "groupName": "type definitions"},
        ],
    }
    if automerge:
        config["packageRules"].append({"matchDepTypes": ["devDependencies"]})
        for rule in config["packageRules"]:
            rule.update(automerge=True, minimumReleaseAge="3 days")
    if reviewers:
        config["reviewers"] = list(reviewers)
    users = [a for a in assignees if not a.startswith("team:")]
    if users:
        config["assignees"] = users
    return config


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
    lines = difflib.unified_diff(before, after, fromfile=source, tofile=f"b/{path}")
    # A last line without its line break is marked, as git marks it, not run into the next.
    return "".join(
        line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines
    )


@dataclass(frozen=True)
class ConfigChange:
    """One generated file: what is there now, what would be written, and the diff."""

    path: str
    kind: str
    existing: str | None
    generated: str

    @property
    def diff(self) -> str:
        """The unified diff (empty when the file is already up to date)."""
        return config_diff(self.existing, self.generated, self.path)

    @property
    def changed(self) -> bool:
        """True when writing would change the file."""
        return self.existing != self.generated


@dataclass(frozen=True)
class ConfigPlan:
    """The generated files, and what a person should know about them."""

    changes: list[ConfigChange]
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # why nothing could be generated (a bad setting, a bad name)
