"""A Pulumi checkpoint (``pulumi stack export``) read into the domain's StackState, and
written back with pending operations settled: the checkpoint JSON is read only here."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from orchestra_ops.domain.pending_ops import PendingOp, StackState


def read_state(checkpoint: str) -> StackState:
    """Parse a checkpoint (``{"version", "deployment"}``); ValueError when it is not one."""
    try:
        data = json.loads(checkpoint)
    except json.JSONDecodeError as error:
        raise ValueError(f"the checkpoint is not JSON ({error})") from error
    deployment = data.get("deployment") if isinstance(data, dict) else None
    if deployment is None:
        return StackState((), ())
    if not isinstance(deployment, dict):
        raise ValueError("the checkpoint's deployment is not an object")
    resources, ops = deployment.get("resources") or [], deployment.get("pending_operations") or []
    if not isinstance(resources, list) or not isinstance(ops, list):
        raise ValueError("the checkpoint's resources and pending operations are not lists")
    pending = []
    for op in ops:
        res = op.get("resource") if isinstance(op, dict) else None
        if not isinstance(res, dict):
            raise ValueError("a pending operation of the checkpoint names no resource object")
        inputs = res.get("inputs") or {}
        pending.append(
            PendingOp(
                operation=str(op.get("type")),
                urn=str(res.get("urn")),
                type=str(res.get("type")),
                id=str(res["id"]) if res.get("id") else None,
                custom=bool(res.get("custom")),
                inputs=inputs if isinstance(inputs, dict) else {},
            )
        )
    return StackState(tuple(r for r in resources if isinstance(r, dict)), tuple(pending))


def settled_checkpoint(
    checkpoint: str,
    adopted: Mapping[str, tuple[str, Mapping[str, Any]]],
    forgotten: Collection[tuple[str, str]],
) -> str:
    """``checkpoint`` with each adopted pending create (URN -> id, outputs) made a resource,
    the ``forgotten`` (URN, id) resources removed, and no pending operation left.

    An adopted resource replaces a same-URN resource whose replacement was pending (its
    delete already happened); any other same-URN resource is marked for deletion, as
    Pulumi marks the old half of a replacement.
    """
    data = json.loads(checkpoint)
    deployment = dict(data["deployment"])
    gone = set(forgotten)
    resources = [
        r for r in deployment.get("resources") or () if (r.get("urn"), r.get("id")) not in gone
    ]
    creating = {
        op["resource"]["urn"]: op["resource"]
        for op in deployment.get("pending_operations") or ()
        if op.get("type") == "creating"
    }
    for urn, (object_id, outputs) in adopted.items():
        if urn not in creating:
            raise ValueError(f"{urn} has no pending create to adopt")
        kept = []
        for res in resources:
            if res.get("urn") == urn and not res.get("delete"):
                if res.get("pendingReplacement"):
                    continue
                res = {**res, "delete": True}
            kept.append(res)
        resources = [*kept, {**creating[urn], "id": object_id, "outputs": dict(outputs)}]
    deployment["resources"] = resources
    deployment["pending_operations"] = []
    return json.dumps({**data, "deployment": deployment})
