"""Undoing a blue-green rollout a provisioning run could not finish, over the ports.

A run journals its rollout (``orchestra_ops.saga``) before the new colour goes up, with
the stack checkpoint taken just before in the backup store. When the run fails and its
own rollback cannot finish (the Lambda API refusing the key, the engine down), or the
run is killed, the intent stays open; ``orchestra-ops recover`` then terminates the
abandoned colour's instances through the Lambda API (never a serving one) and restores
the stack's state from the checkpoint. The next run of the environment tears leftovers
down itself and closes older rollouts as superseded. Plain functions; no Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.adapters.files import restore_texts
from orchestra_ops.domain.provisioning import live_instances_of
from orchestra_ops.ledger import Closure, Compensator, Decision, Intent
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.stack_engine import Checkpoint, StackEngine
from orchestra_ops.saga import Saga

SAGA_PREFIX = "lambda:"
ROLLOUT_STEP = "rollout"
ROLLOUT_ACTION = "lambda-rollout-undo"


def saga_id(environment: str, run_id: str) -> str:
    """The saga of one provisioning run of one environment."""
    return f"{SAGA_PREFIX}{environment}:{run_id}"


def environment_of(saga: Saga) -> str:
    """The environment a provisioning saga changed (its lock's target)."""
    return saga.id.removeprefix(SAGA_PREFIX).split(":", 1)[0]


def undo_rollout(
    api: LambdaCloudApi,
    engine: Callable[[], StackEngine],
    backups: BackupStore,
    owner: str,
    intent: Intent,
) -> Decision:
    """Terminate the abandoned colour (serving instances untouched), restore the state.

    Only instances of the state that journalled the rollout (``owner`` for an intent
    written before intents carried it)."""
    environment, colour = str(intent.target["environment"]), str(intent.target["colour"])
    serving = {str(i) for i in intent.target.get("serving_ids") or ()}
    owner = str(intent.target.get("owner") or owner)
    live = api.list_instances()
    left = [
        i for i in live_instances_of(live, environment, colour, owner=owner) if i.id not in serving
    ]
    if left:
        api.terminate([i.id for i in left])
    stack = engine()  # ToolMissing without the Pulumi CLI: the intent stays open, saying so
    backend_dir = Path(str(intent.target["backend_dir"]))
    ref = stack.select_or_create(backend_dir, environment)
    name = str(intent.undo["backup"])
    stack.import_(ref, Checkpoint(backups.checkpoint(name)))
    restore_texts(backend_dir, backups.files(name))
    backups.discard(name)
    return Decision(
        Closure.COMPENSATED,
        f"{len(left)} {colour} instance(s) of {environment} terminated; stack state and "
        f"Pulumi.{environment}.yaml restored from before the rollout",
    )


def compensators(
    api: Callable[[], LambdaCloudApi],
    engine: Callable[[], StackEngine],
    backups: BackupStore,
    owner: str,
) -> dict[str, Compensator]:
    """The compensator of each provisioning undo action."""
    return {ROLLOUT_ACTION: lambda intent: undo_rollout(api(), engine, backups, owner, intent)}
