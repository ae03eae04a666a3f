"""The Vercel emulator's state: projects, env vars, files, deployments and aliases.

Plain records guarded by one lock; the API handlers (``projects.py``, ``deployments.py``)
and the edge read and change them. Deployment progress is computed lazily from the
clock: QUEUED for the first fifth of ``build_delay_s``, BUILDING until it has passed,
then READY (or ERROR when a failure was injected or vercel.json is invalid).
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OWNER_SLUG = "sandbox"
"""The team's slug (and the scope part of team deployment hostnames)."""
USER_SLUG = "sandbox-dev"
"""The token owner's username (the scope part of personal deployment hostnames)."""
USER_ID = "user_sandbox0000000000000000"
_BRANCH_KEYS = ("githubCommitRef", "gitlabCommitRef", "bitbucketCommitRef")
_ALPHABET = string.ascii_lowercase + string.digits


class ApiError(Exception):
    """An API answer in Vercel's error envelope; ``extra`` goes inside ``error``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON envelope ``{"error": {"code", "message", ...}}``."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def not_found(what: str) -> ApiError:
    """The 404 for a missing object."""
    return ApiError(404, "not_found", f"{what} not found")


def bad_request(message: str, code: str = "bad_request", **extra: Any) -> ApiError:
    """A 400 with Vercel's generic code unless a specific one is given."""
    return ApiError(400, code, message, **extra)


@dataclass
class DeploymentRecord:
    """One deployment as the emulator keeps it (its JSON view is built on demand)."""

    id: str
    url: str
    name: str
    project_id: str
    target: str | None
    created_ms: int
    created_clock: float
    files: dict[str, str]
    project_settings: dict[str, Any]
    meta: dict[str, str]
    vercel_json: dict[str, Any]
    fail_message: str | None = None
    canceled_ms: int | None = None
    settled: bool = False
    aliases: list[str] = field(default_factory=list)
    auto_assign: bool = True
    """False when the deployment asked ``autoAssignCustomDomains: false`` (``--skip-domain``)."""
    served_production: bool = False
    """True once the deployment has served production (only those are rollback targets)."""


@dataclass
class AliasRecord:
    """A hostname pointing at a deployment."""

    uid: str
    alias: str
    deployment_id: str
    project_id: str
    created_ms: int


@dataclass
class Health:
    """An injected edge health mode for one deployment."""

    mode: str
    delay_s: float = 0.0


class State:
    """Everything the emulator knows; callers hold ``lock`` while they read or change it."""

    def __init__(self, *, team_id: str | None, build_delay_s: float, clock: Callable[[], float]):
        self.team_id = team_id
        self.user_id = USER_ID
        self.scope: str | None = None
        """The owner (team or user id) the current API request acts for; None for controls."""
        self.build_delay_s = build_delay_s
        self.clock = clock
        self.lock = threading.RLock()
        self.projects: dict[str, dict[str, Any]] = {}
        self.envs: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, bytes] = {}
        self.deployments: dict[str, DeploymentRecord] = {}
        self.aliases: dict[str, AliasRecord] = {}
        self.production: dict[str, str] = {}
        self.pending_failures: list[str] = []
        self.health: dict[str, Health] = {}
        self.broken_promotions = 0
        self._last_stamp = 0

    def stamp(self) -> int:
        """Wall-clock milliseconds, strictly increasing (timestamps double as cursors)."""
        self._last_stamp = max(int(time.time() * 1000), self._last_stamp + 1)
        return self._last_stamp

    @staticmethod
    def new_id(prefix: str, length: int = 24) -> str:
        """A random id such as ``dpl_…``."""
        return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))

    @property
    def owner_id(self) -> str:
        """The account new objects belong to: the request's scope, else the team (or user)."""
        return self.scope or self.team_id or self.user_id

    def slug_of(self, owner: str) -> str:
        """The slug of an owner id (team slug or username)."""
        return OWNER_SLUG if owner == self.team_id else USER_SLUG

    def in_scope(self, project: dict[str, Any]) -> bool:
        """True when the current request's scope may see ``project`` (controls see all)."""
        return self.scope is None or project["accountId"] == self.scope

    def visible_projects(self) -> list[dict[str, Any]]:
        """The projects of the current scope."""
        return [p for p in self.projects.values() if self.in_scope(p)]

    def project(self, id_or_name: str) -> dict[str, Any]:
        """A project of the current scope by id or name, or a 404."""
        found = self.projects.get(id_or_name)
        if found is None:
            named = (p for p in self.visible_projects() if p["name"] == id_or_name)
            found = next(named, None)
        if found is None or not self.in_scope(found):
            raise not_found("Project")
        return found

    def deployment(self, id_or_url: str) -> DeploymentRecord:
        """A deployment of the current scope by id, hostname or alias, or a 404."""
        host = id_or_url.removeprefix("https://").removeprefix("http://").rstrip("/")
        found = self.deployments.get(id_or_url)
        if found is None:
            found = next((d for d in self.deployments.values() if d.url == host), None)
        if found is None and host in self.aliases:
            found = self.deployments.get(self.aliases[host].deployment_id)
        if found is None or not self.deployment_in_scope(found):
            raise not_found("Deployment")
        return found

    def deployment_in_scope(self, record: DeploymentRecord) -> bool:
        """True when the current scope owns the deployment's project."""
        project = self.projects.get(record.project_id)
        return self.scope is None or (project is not None and self.in_scope(project))

    # --- lifecycle ---------------------------------------------------------------------

    def state_of(self, record: DeploymentRecord) -> str:
        """QUEUED, BUILDING, READY, ERROR or CANCELED, from the clock."""
        if record.canceled_ms is not None:
            return "CANCELED"
        elapsed = self.clock() - record.created_clock
        if elapsed < self.build_delay_s * 0.2:
            return "QUEUED"
        if elapsed < self.build_delay_s:
            return "BUILDING"
        return "ERROR" if record.fail_message is not None else "READY"

    def settle(self) -> None:
        """Give newly READY deployments their aliases, oldest first (production auto-promotes)."""
        pending = [d for d in self.deployments.values() if not d.settled]
        for record in sorted(pending, key=lambda d: d.created_ms):
            state = self.state_of(record)
            if state in ("QUEUED", "BUILDING"):
                continue
            record.settled = True
            if state == "READY":
                self._assign_ready_aliases(record)

    def _assign_ready_aliases(self, record: DeploymentRecord) -> None:
        """Vercel's automatic aliases: production domains when production moves, and a
        branch alias ``<project>-git-<branch>-<scope>`` when the deployment names a branch.
        """
        project = self.projects.get(record.project_id)
        if project is None:
            return
        production = (
            record.target == "production"
            and record.auto_assign
            and project.get("autoAssignCustomDomains", True)
        )
        if production:
            self.point_production(project, record)
        branch = next((record.meta[k] for k in _BRANCH_KEYS if record.meta.get(k)), None)
        if branch:
            slug = "".join(c if c.isalnum() else "-" for c in branch.lower()).strip("-")
            scope = self.slug_of(project["accountId"])
            self.point_alias(f"{project['name']}-git-{slug}-{scope}.vercel.app", record)

    def production_domains(self, project: dict[str, Any]) -> list[str]:
        """The project's production hostnames, the one Vercel shows first.

        ``<project>.vercel.app`` is global: when a project of the same name in the other
        scope holds it, this project gets only ``<project>-<scope>.vercel.app``.
        """
        scope = self.slug_of(project["accountId"])
        hosts = [f"{project['name']}.vercel.app", f"{project['name']}-{scope}.vercel.app"]
        return [h for h in hosts if self.aliases.get(h) is None or self._holds(project, h)]

    def _holds(self, project: dict[str, Any], host: str) -> bool:
        holder = self.aliases[host].project_id
        return holder == project["id"] or holder not in self.projects

    def point_production(self, project: dict[str, Any], record: DeploymentRecord) -> str | None:
        """Move the production aliases to ``record``; returns the previous deployment id."""
        previous = self.production.get(project["id"])
        self.production[project["id"]] = record.id
        record.served_production = True
        for host in self.production_domains(project):
            self.point_alias(host, record)
        return previous

    def point_alias(self, host: str, record: DeploymentRecord) -> AliasRecord:
        """Point ``host`` at ``record`` (moving it from any earlier deployment)."""
        old = self.aliases.get(host)
        if old is not None and old.deployment_id in self.deployments:
            former = self.deployments[old.deployment_id]
            if host in former.aliases:
                former.aliases.remove(host)
        alias = AliasRecord(self.new_id("", 20), host, record.id, record.project_id, self.stamp())
        self.aliases[host] = alias
        if host not in record.aliases:
            record.aliases.append(host)
        return alias

    def remove_project(self, project: dict[str, Any]) -> None:
        """Forget a project with its env vars, deployments and aliases."""
        project_id = project["id"]
        self.projects.pop(project_id, None)
        self.envs.pop(project_id, None)
        self.production.pop(project_id, None)
        for dep_id in [d.id for d in self.deployments.values() if d.project_id == project_id]:
            del self.deployments[dep_id]
        for host in [h for h, a in self.aliases.items() if a.project_id == project_id]:
            del self.aliases[host]


def int_param(value: str | None) -> int | None:
    """A numeric query parameter, or None when absent."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as error:
        raise bad_request(f"Expected a number, got {value!r}") from error


def limit_param(value: str | None) -> int:
    """The ``limit`` query parameter: 1..100, default 20."""
    limit = int_param(value) or 20
    if not 1 <= limit <= 100:
        raise bad_request("`limit` must be between 1 and 100")
    return limit
