"""Settle the pending operations a killed ``pulumi up`` left, against the Lambda API.

The decisions are :func:`~orchestra_ops.domain.pending_ops.plan_settlement`'s; this
module gathers what they need and carries them out, in an order that a second kill
cannot spoil: nothing is written to the state until Lambda holds what the state will
say, so a settlement that is itself interrupted is settled again the same way.

1. the checkpoint (``stack export``, which takes no lock); nothing pending: done (the
   usual case, at the cost of that one export);
2. the stack's locks: one of a live process means an update is running and the pending
   operations are its own (StackConflict, nothing touched); locks of dead CLIs go. On a
   backend whose locks are not visible here (Pulumi Cloud, S3) the callers' target lock
   (``tasks.serialise``, ``recover``) is what keeps a running update out of reach.
   Then the checkpoint is read again, as it is with no update running;
3. which resources the program declares now: a ``preview`` (no lock, no cloud change),
   or none at all before a destroy;
4. what Lambda holds: instances, SSH keys, filesystems, firewall rulesets;
5. terminate what no resource will own; wait until an adopted instance is active (as
   the interrupted create would have; one that never gets there is terminated);
6. import the checkpoint with the adopted resources (their outputs as the provider's
   create would report them) and without pending operations.

The engine (:class:`~orchestra_ops.adapters.pulumi.engine.PulumiEngine`) calls this before
``up``, ``refresh`` and ``destroy``; ``orchestra-ops recover`` calls it for each stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi.checkpoint import read_state, settled_checkpoint
from orchestra_ops.adapters.pulumi.locks import left_by_a_dead_process_here, remove_lock
from orchestra_ops.domain.lambda_cloud import (
    InstanceId,
    InstanceStatus,
)
from orchestra_ops.domain.pending_ops import (
    INSTANCE,
    Action,
    CloudView,
    PendingOp,
    plan_settlement,
)
from orchestra_ops.errors import (
    ConfigError,
    InstanceNotActive,
    LambdaNotFound,
    OpsError,
    StackConflict,
    StackError,
)
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.stack_engine import (
    Checkpoint,
    OnEvent,
    Settlement,
    StackEvent,
    StackRef,
)
from orchestra_ops.settings import LambdaCloudSettings, load_settings

if TYPE_CHECKING:
    from orchestra_ops.adapters.pulumi.engine import PulumiEngine

NOT_DECLARING = frozenset({"delete", "delete-replaced", "discard", "discard-replaced"})
"""Preview steps of a resource the program no longer declares."""

LambdaFactory = Callable[[], LambdaCloudApi]


def lambda_client(provider_env: Mapping[str, str]) -> LambdaCloudClient:
    """The client the dynamic providers would build: ``provider_env`` over the settings."""

    def name(field_name: str) -> str:
        return LambdaCloudSettings.env_name(field_name)

    settings = load_settings().lambda_cloud
    key = provider_env.get(name("api_key")) or (
        settings.api_key.get_secret_value() if settings.api_key is not None else None
    )
    if not key:
        raise ConfigError(
            f"{name('api_key')} is not set: it is needed to settle the pending operations "
            "of a killed update against the Lambda API",
            source=name("api_key"),
        )
    url = provider_env.get(name("api_url")) or settings.api_url
    timeout = float(provider_env.get(name("timeout_s")) or settings.timeout_s)
    return LambdaCloudClient(url, SecretStr(key), timeout_s=timeout)


def declared_urns(engine: PulumiEngine, ref: StackRef) -> frozenset[str]:
    """The URNs the program declares with the stack's current config (by a preview)."""
    steps: list[StackEvent] = []
    engine.preview(ref, on_event=steps.append)
    return frozenset(
        e.urn for e in steps if e.kind == "resource-pre" and e.urn and e.op not in NOT_DECLARING
    )


def settle(
    engine: PulumiEngine,
    ref: StackRef,
    lambda_api: LambdaFactory,
    *,
    checkpoint: Checkpoint | None = None,
    destroying: bool = False,
    dry_run: bool = False,
    on_event: OnEvent | None = None,
) -> Settlement:
    """Settle ``ref``'s pending operations (see the module docstring); what was done."""
    result = Settlement(ref.label, dry_run)
    text = checkpoint if checkpoint is not None else engine.export(ref)
    state = read_state(text)
    if not state.pending:
        return result
    _clear_dead_locks(engine.lock_files(ref), ref, dry_run, result, on_event)
    # Read again now that no live update holds the stack: one that ended since the first
    # read has recorded its own operations, and its state must not be overwritten.
    text = engine.export(ref)
    state = read_state(text)
    if not state.pending:
        return result
    declared = frozenset[str]() if destroying else declared_urns(engine, ref)
    with _opened(lambda_api) as api:
        cloud = CloudView(
            tuple(api.list_instances()),
            tuple(api.list_ssh_keys()),
            tuple(api.list_filesystems()),
            tuple(api.list_firewall_rulesets()),
        )
        actions = plan_settlement(state, cloud, declared)
        result.decided = [a.describe() for a in actions]
        if dry_run:
            result.done += [f"would {line}" for line in result.decided]
            return result
        left = [a for a in actions if a.verb == "leave"]
        if left:
            raise StackError(
                f"{ref.label}: {len(left)} pending operation(s) of a killed update cannot be "
                f"settled automatically: {'; '.join(a.describe() for a in left)}. Nothing "
                "was changed"
            )
        ops = {op.urn: op for op in state.pending if op.operation == "creating"}
        adopted: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for action in actions:
            line = _carry_out(api, action, ops.get(action.urn), adopted, ref)
            result.done.append(line)
            _say(on_event, f"{ref.label}: {line}")
    forgotten = {(a.urn, str(a.object_id)) for a in actions if a.verb == "forget"}
    engine.import_(ref, Checkpoint(settled_checkpoint(text, adopted, forgotten)))
    _say(on_event, f"{ref.label}: {len(state.pending)} pending operation(s) settled")
    return result


@contextmanager
def _opened(factory: LambdaFactory) -> Iterator[LambdaCloudApi]:
    api = factory()
    try:
        yield api
    finally:
        close = getattr(api, "close", None)
        if callable(close):
            close()


def _say(on_event: OnEvent | None, message: str) -> None:
    if on_event is not None:
        on_event(StackEvent("diagnostic", message, severity="warning"))


def _clear_dead_locks(
    locks: list[Path],
    ref: StackRef,
    dry_run: bool,
    result: Settlement,
    on_event: OnEvent | None,
) -> None:
    """StackConflict when a live process holds a lock; else remove the dead ones."""
    live = [lock for lock in locks if not left_by_a_dead_process_here(lock)]
    if live:
        raise StackConflict(
            f"{ref.label}: an update that is still running holds the lock {live[0]}; its "
            "pending operations are its own and were not touched"
        )
    for lock in locks:
        line = f"remove the lock {lock.name} left by a CLI that is gone"
        if not dry_run:
            remove_lock(lock)
            _say(on_event, f"{ref.label}: {line}")
        result.done.append(f"would {line}" if dry_run else line)


def _carry_out(
    api: LambdaCloudApi,
    action: Action,
    op: PendingOp | None,
    adopted: dict[str, tuple[str, Mapping[str, Any]]],
    ref: StackRef,
) -> str:
    """Do one action; ``adopted`` gains the resources to write into the state."""
    line = action.describe()
    try:
        if action.verb == "terminate":
            _terminate(api, action)
        elif action.verb == "adopt" and op is not None and action.object_id is not None:
            outputs = _outputs_of(api, action, op)
            if outputs is None:
                return f"{line} -- it never became active: terminated instead"
            adopted[action.urn] = (action.object_id, outputs)
    except (OpsError, OSError) as error:
        raise StackError(
            f"{ref.label}: settling a pending operation failed at '{line}': "
            f"{type(error).__name__}: {error}. Nothing was written to the state; retry"
        ) from error
    return line


def _terminate(api: LambdaCloudApi, action: Action) -> None:
    if action.kind != INSTANCE:  # named objects are never settled by deletion
        raise StackError(f"settlement cannot terminate a {action.kind}: {action.describe()}")
    try:
        api.terminate([InstanceId(str(action.object_id))])
    except LambdaNotFound:
        pass  # gone already


def _outputs_of(api: LambdaCloudApi, action: Action, op: PendingOp) -> dict[str, Any] | None:
    """The outputs the interrupted create of an instance would have recorded; None:
    nothing to adopt (only instances are adopted: their key carries the state's owner)."""
    # Imported here: the providers pull in pulumi's dynamic-provider machinery.
    from orchestra_ops.adapters.pulumi.provider._common import PROVIDER_KEY, Timing
    from orchestra_ops.adapters.pulumi.provider._launch import wait_active
    from orchestra_ops.adapters.pulumi.provider._spec import InstanceSpec
    from orchestra_ops.adapters.pulumi.provider.lambda_instance import instance_outputs

    if action.kind != INSTANCE:
        raise StackError(f"settlement cannot adopt a {action.kind}: {action.describe()}")
    props = dict(op.inputs)
    instance = api.get_instance(InstanceId(str(action.object_id)))
    if instance.status is not InstanceStatus.ACTIVE:
        try:  # what the create was doing: wait, and terminate one that never gets there
            instance = wait_active(api, instance.id, InstanceSpec.from_props(props), Timing())
        except InstanceNotActive:
            return None
    outputs = instance_outputs(props, instance)
    if PROVIDER_KEY in props:  # the dynamic provider reads itself back from the outputs
        outputs[PROVIDER_KEY] = props[PROVIDER_KEY]
    return outputs
