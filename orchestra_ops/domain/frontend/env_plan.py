"""Plan the move of an app's environment variables from Docker to Vercel.

Which value wins (highest first): an explicit override, ``.env.production``, ``.env`` /
``.env.local``, docker-compose, the Dockerfile. ``.env.example`` only says a key exists.
Classification:

- a name with the framework's public prefix (``VITE_`` / ``NEXT_PUBLIC_``) is inlined
  into the browser bundle: type ``plain``; if it also looks secret, that is a warning;
- a secret-looking name is ``sensitive`` (never readable back, production and preview
  only, as Vercel allows);
- anything else is ``encrypted``, on every target.

Container plumbing (``NODE_ENV``, ``PORT``...) is skipped: Vercel sets its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

from orchestra_ops.domain.frontend.detect import Framework
from orchestra_ops.domain.frontend.env_sources import FoundVar
from orchestra_ops.domain.vercel import EnvTarget, EnvType, EnvVar

PUBLIC_PREFIX = {Framework.VITE: "VITE_", Framework.NEXTJS: "NEXT_PUBLIC_"}
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_KEY|DATABASE_URL|_KEY$)"
)
_PLACEHOLDER = re.compile(
    r"(changeme|change-me|^xxx+$|^todo$|^tbd$|^placeholder$|^<.*>$|^your[-_].*$)", re.I
)
_LOCALHOST = re.compile(r"(localhost|127\.0\.0\.1|0\.0\.0\.0)")
_PLUMBING = {
    "NODE_ENV": "Vercel sets NODE_ENV itself",
    "PORT": "the container's listening port; Vercel routes for you",
    "HOSTNAME": "the container's bind address",
    "NEXT_TELEMETRY_DISABLED": "a build-container setting, not app configuration",
}
_RANK = {".env.production": 0, ".env.production.local": 0, ".env.local": 1, ".env": 1}
_ALL_TARGETS = (EnvTarget.PRODUCTION, EnvTarget.PREVIEW, EnvTarget.DEVELOPMENT)
_SENSITIVE_TARGETS = (EnvTarget.PRODUCTION, EnvTarget.PREVIEW)


@dataclass(frozen=True)
class PlannedVar:
    """One variable to set on Vercel."""

    key: str
    value: SecretStr
    type: EnvType
    targets: tuple[EnvTarget, ...]
    sources: tuple[str, ...]

    def as_env_var(self) -> EnvVar:
        """The Vercel env var to upsert."""
        return EnvVar(key=self.key, value=self.value, type=self.type, targets=self.targets)


@dataclass(frozen=True)
class EnvPlan:
    """Everything the migration will set, could not set, skipped, and warns about."""

    variables: tuple[PlannedVar, ...]
    missing: tuple[tuple[str, tuple[str, ...]], ...]
    skipped: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]


def _rank(var: FoundVar) -> int:
    if var.source.endswith(".example"):
        return 9
    name = var.source.rsplit("/", 1)[-1]
    if name in _RANK:
        return _RANK[name]
    return 2 if "compose" in name else 3


def _env_type(key: str, framework: Framework) -> EnvType:
    if key.startswith(PUBLIC_PREFIX[framework]):
        return EnvType.PLAIN
    return EnvType.SENSITIVE if _SECRET_NAME.search(key) else EnvType.ENCRYPTED


def points_at_localhost(value: str) -> bool:
    """True for a value naming this machine (localhost, 127.0.0.1, 0.0.0.0)."""
    return _LOCALHOST.search(value) is not None


def _warnings_for(key: str, value: str, framework: Framework, *, checked: bool) -> list[str]:
    warnings = []
    public = PUBLIC_PREFIX[framework]
    if key.startswith(public) and _SECRET_NAME.search(key.removeprefix(public)):
        warnings.append(
            f"{key} looks secret but the {public} prefix inlines it into the browser bundle; "
            "move it behind the API"
        )
    for other_framework, prefix in PUBLIC_PREFIX.items():
        if other_framework is not framework and key.startswith(prefix):
            warnings.append(f"{key} has the {prefix} prefix, which {framework} does not expose")
    if checked and points_at_localhost(value):
        warnings.append(f"{key} points at localhost, which production cannot reach")
    return warnings


def plan_env(
    framework: Framework, found: Sequence[FoundVar], overrides: Mapping[str, str] | None = None
) -> EnvPlan:
    """Decide every variable's value, type and targets; values never leave as plain text."""
    overrides = dict(overrides or {})
    by_key: dict[str, list[FoundVar]] = {}
    for var in found:
        by_key.setdefault(var.key, []).append(var)
    for key in overrides:
        by_key.setdefault(key, [])
    variables, missing, skipped, warnings = [], [], [], []
    for key in sorted(by_key):
        occurrences = sorted(by_key[key], key=_rank)
        sources = tuple(v.where for v in occurrences) or ("override",)
        if key in _PLUMBING and key not in overrides:
            skipped.append((key, _PLUMBING[key]))
            continue
        candidates = [v.value for v in occurrences if _rank(v) < 9 and v.value is not None]
        value = overrides.get(key, candidates[0] if candidates else None)
        if value is not None and key not in overrides and _PLACEHOLDER.search(value):
            warnings.append(f"{key} has a placeholder value in {sources[0]}; supply the real one")
            value = None
        if value is None:
            missing.append((key, sources))
            continue
        env_type = _env_type(key, framework)
        targets = _SENSITIVE_TARGETS if env_type is EnvType.SENSITIVE else _ALL_TARGETS
        variables.append(PlannedVar(key, SecretStr(value), env_type, targets, sources))
        warnings.extend(_warnings_for(key, value, framework, checked=key not in overrides))
    return EnvPlan(tuple(variables), tuple(missing), tuple(skipped), tuple(warnings))


class Change(StrEnum):
    """What the migration does to one variable on one target."""

    ADDED = "added"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    OVERWRITTEN = "overwritten (current value not readable)"
    ONLY_ON_VERCEL = "only on Vercel (left as is)"


@dataclass(frozen=True)
class EnvChange:
    """One row of the env diff; values are masked unless plain."""

    key: str
    target: EnvTarget
    change: Change
    shown_value: str


def masked(var: EnvVar | PlannedVar) -> str:
    """A plain value as is (it is public anyway); anything else hidden."""
    if var.value is None:
        return "(not readable)"
    if var.type is EnvType.PLAIN:
        return var.value.get_secret_value()
    return f"<{var.type.value}>"


def _change(now: EnvVar | None, planned: PlannedVar) -> Change:
    if now is None:
        return Change.ADDED
    if now.value is None:
        return Change.OVERWRITTEN
    if now.value.get_secret_value() == planned.value.get_secret_value():
        return Change.UNCHANGED
    return Change.CHANGED


def diff_env(plan: EnvPlan, current: Sequence[EnvVar]) -> list[EnvChange]:
    """Compare the plan with the project's current env, per key and target."""
    existing: dict[tuple[str, EnvTarget], EnvVar] = {}
    for var in current:
        for target in var.targets:
            existing[(var.key, target)] = var
    rows = [
        EnvChange(
            planned.key,
            target,
            _change(existing.get((planned.key, target)), planned),
            masked(planned),
        )
        for planned in plan.variables
        for target in planned.targets
    ]
    planned_keys = {(row.key, row.target) for row in rows}
    for (key, target), kept in sorted(existing.items()):
        if (key, target) not in planned_keys:
            rows.append(EnvChange(key, target, Change.ONLY_ON_VERCEL, masked(kept)))
    return rows
