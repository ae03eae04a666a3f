"""Env var operations of the Vercel emulator.

Rules: types plain / encrypted / sensitive / system (a system var takes no value);
``target`` is required; ``gitBranch`` only with ``target: ["preview"]``. A duplicate
(same key, an overlapping target, same branch) without ``upsert`` is reported in
``failed`` with code ``ENV_ALREADY_EXISTS`` (that code and its casing are UNVERIFIED).
Sensitive values are never revealed; encrypted ones only with ``decrypt=true``.
"""

from __future__ import annotations

import re
from typing import Any

from orchestra_ops.sandbox.vercel.state import State, bad_request, not_found

TYPES = ("plain", "encrypted", "sensitive", "system")
TARGETS = ("production", "preview", "development")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate(item: Any) -> dict[str, Any]:
    """Check one env var definition; returns the normalised fields or raises a 400."""
    if not isinstance(item, dict):
        raise bad_request("Each env var must be an object")
    key = item.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        raise bad_request("The key contains invalid characters", "KEY_INVALID_CHARACTERS", key=key)
    kind = item.get("type", "plain")
    if kind not in TYPES:
        raise bad_request(f"Invalid type {kind!r}: use one of {', '.join(TYPES)}", key=key)
    value = item.get("value")
    if kind == "system" and value not in (None, ""):
        raise bad_request("A system env var takes no value", "SYSTEM_ENV_WITH_VALUE", key=key)
    if kind != "system" and value is None:
        raise bad_request("A value is required", "MISSING_VALUE", key=key)
    if value is not None and not isinstance(value, str):
        raise bad_request("The value must be a string", "VALUE_INVALID_TYPE", key=key)
    target = item.get("target")
    if isinstance(target, str):
        target = [target]
    if not target:
        raise bad_request("A target is required", "MISSING_TARGET", key=key)
    if not isinstance(target, list) or any(t not in TARGETS for t in target):
        raise bad_request(f"Invalid target: use {', '.join(TARGETS)}", key=key)
    branch = item.get("gitBranch")
    if branch is not None and target != ["preview"]:
        raise bad_request("gitBranch needs target ['preview']", key=key, gitBranch=branch)
    return {
        "key": key,
        "value": value or "",
        "type": kind,
        "target": sorted(set(target)),
        "gitBranch": branch,
        "comment": str(item.get("comment") or ""),
    }


def create(
    state: State, project: dict[str, Any], body: Any, *, upsert: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Create (or with ``upsert`` overwrite) env vars; returns (created, failed)."""
    items = [validate(i) for i in (body if isinstance(body, list) else [body])]
    existing = state.envs.setdefault(project["id"], [])
    created: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        clash = next((e for e in existing if _clashes(e, item)), None)
        if clash is not None and not upsert:
            failed.append(_duplicate(item))
            continue
        now = state.stamp()
        if clash is not None:
            clash.update(item, updatedAt=now)
            created.append(render(clash, decrypt=False))
            continue
        record = {**item, "id": State.new_id("", 16), "createdAt": now, "updatedAt": now}
        existing.append(record)
        created.append(render(record, decrypt=False))
    project["updatedAt"] = state.stamp()
    return created, failed


def _clashes(existing: dict[str, Any], new: dict[str, Any]) -> bool:
    return (
        existing["key"] == new["key"]
        and existing.get("gitBranch") == new.get("gitBranch")
        and bool(set(existing["target"]) & set(new["target"]))
    )


def _duplicate(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "error": {
            "code": "ENV_ALREADY_EXISTS",
            "message": f"A variable with the name {item['key']} already exists for the target",
            "key": item["key"],
            "envVarKey": item["key"],
            "target": item["target"],
            "gitBranch": item["gitBranch"],
        }
    }


def find(state: State, project: dict[str, Any], env_id: str) -> dict[str, Any]:
    """An env var of ``project`` by id, or a 404."""
    for record in state.envs.get(project["id"], []):
        if record["id"] == env_id:
            return record
    raise not_found("Environment Variable")


def update(state: State, project: dict[str, Any], env_id: str, body: Any) -> dict[str, Any]:
    """PATCH /v9/projects/{p}/env/{id}: merge the given fields and re-validate."""
    record = find(state, project, env_id)
    if not isinstance(body, dict):
        raise bad_request("The body must be an object")
    merged = validate({**record, **body})
    if any(e is not record and _clashes(e, merged) for e in state.envs[project["id"]]):
        raise bad_request(f"{merged['key']} already exists for the target", "ENV_CONFLICT")
    record.update(merged, updatedAt=state.stamp())
    return render(record, decrypt=False)


def delete(state: State, project: dict[str, Any], env_id: str) -> dict[str, Any]:
    """DELETE /v9/projects/{p}/env/{id}: answers the deleted var."""
    record = find(state, project, env_id)
    state.envs[project["id"]].remove(record)
    return render(record, decrypt=False)


def render(record: dict[str, Any], *, decrypt: bool) -> dict[str, Any]:
    """The env var JSON: plain values always, encrypted only when decrypting, sensitive never."""
    kind = record["type"]
    shown = kind == "plain" or (kind == "encrypted" and decrypt)
    item = {
        "id": record["id"],
        "key": record["key"],
        "value": record["value"] if shown else "",
        "type": kind,
        "target": list(record["target"]),
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
        "configurationId": None,
        "comment": record["comment"],
        "decrypted": kind == "encrypted" and decrypt,
        "securityIssues": [],
    }
    if record.get("gitBranch"):
        item["gitBranch"] = record["gitBranch"]
    return item
