"""Who the sandbox token is: the user, the team it belongs to, and the scope of a request.

One user (``sandbox-dev``) owns the token; when the emulator has a team, the user is its
OWNER and the team is the user's ``defaultTeamId``. As Vercel documents it, a request
with ``teamId`` (or the team's ``slug``) acts for the team, and one without acts for the
user's personal account: objects of the other scope are not found.
"""

from __future__ import annotations

from typing import Any

from orchestra_ops.sandbox.vercel.state import OWNER_SLUG, USER_SLUG, ApiError, State, not_found

_CREATED_MS = 1_700_000_000_000


def scope_of(state: State, team: str | None, slug: str | None) -> str:
    """The owner id a request acts for, or a 403 for a team the token is not a member of."""
    if team is None and slug is None:
        return state.user_id
    known = state.team_id is not None and (team in (None, state.team_id))
    if not known or slug not in (None, OWNER_SLUG):
        raise ApiError(403, "forbidden", "Not authorized")
    return str(state.team_id)


def user(state: State) -> dict[str, Any]:
    """GET /v2/user: the token's user (every field the SDK's full ``AuthUser`` requires)."""
    return {
        "user": {
            "id": state.user_id,
            "email": f"{USER_SLUG}@sandbox.invalid",
            "name": "Sandbox Developer",
            "username": USER_SLUG,
            "avatar": None,
            "defaultTeamId": state.team_id,
            "createdAt": _CREATED_MS,
            "softBlock": None,
            "billing": {},
            "hasTrialAvailable": False,
            "resourceConfig": {},
            "stagingPrefix": USER_SLUG,
            "version": "northstar",
        }
    }


def team(state: State, id_or_slug: str) -> dict[str, Any]:
    """GET /teams/{id} and /v2/teams/{id}: the team by id or slug, or 404 / 403."""
    if state.team_id is None:
        raise not_found("Team")
    if id_or_slug not in (state.team_id, OWNER_SLUG):
        raise ApiError(403, "forbidden", "You don't have permission to access this team")
    return _team(state)


def teams(state: State) -> dict[str, Any]:
    """GET /v1/teams and /v2/teams: the teams the user belongs to (at most one here)."""
    items = [_team(state)] if state.team_id is not None else []
    return {"teams": items, "pagination": {"count": len(items), "next": None, "prev": None}}


def _team(state: State) -> dict[str, Any]:
    return {
        "id": state.team_id,
        "slug": OWNER_SLUG,
        "name": "Sandbox Team",
        "avatar": None,
        "description": None,
        "createdAt": _CREATED_MS,
        "updatedAt": _CREATED_MS,
        "creatorId": state.user_id,
        "stagingPrefix": OWNER_SLUG,
        "billing": {"plan": "pro"},
        "membership": {
            "confirmed": True,
            "created": _CREATED_MS,
            "createdAt": _CREATED_MS,
            "role": "OWNER",
            "uid": state.user_id,
        },
    }
