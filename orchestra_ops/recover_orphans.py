"""Orphaned API instances: live ``role=api`` instances of an environment that this state
launched and its backend stack neither lists nor holds (part of `orchestra-ops recover`).

An environment whose stack a provisioning run holds is skipped; one that cannot be read
(no Pulumi CLI, a dead Lambda API, an unreadable stack) is ``unchecked``, never clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_ops.adapters.target_lock import idle_target
from orchestra_ops.domain.lambda_cloud import Instance
from orchestra_ops.domain.pending_ops import INSTANCE
from orchestra_ops.domain.provisioning import (
    StackColours,
    live_instances_of,
    stacks_target,
    untagged_instances_of,
)
from orchestra_ops.errors import Conflict, OpsError, StackNotFound
from orchestra_ops.ports.stack_engine import StackEngine, StackOutput, StackRef
from orchestra_ops.provisioning_rollback import scratch_project
from orchestra_ops.recover_pending import UNCHECKED, PendingCheck, why_unchecked
from orchestra_ops.wiring import Clients

# --- orphaned instances -----------------------------------------------------------------


@dataclass
class OrphanCheck:
    """One environment: orphans found and terminated, or why the check did not run."""

    environment: str
    status: str = "checked"  # checked | skipped | unchecked
    orphans: list[Instance] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def open(self) -> bool:
        """True while an orphan found is still running."""
        return not {o.id for o in self.orphans} <= set(self.terminated)


def state_instance_ids(engine: StackEngine, ref: StackRef) -> set[str]:
    """Ids of the instances the stack's state holds (ValueError when it is unreadable).

    An instance adopted after a killed update is in the state before any ``up`` has put
    it in the outputs.
    """
    return set(engine.state(ref).owned_ids(INSTANCE))


def stack_instance_ids(outputs: Mapping[str, StackOutput]) -> set[str]:
    """Every instance id the backend stack lists, in any colour (ValueError when malformed)."""
    values = {name: output.value for name, output in outputs.items()}
    colours = StackColours.from_outputs(values)
    listed = {instance.id for group in colours.instances.values() for instance in group}
    active = values.get("instance_ids")
    if isinstance(active, list):
        listed.update(str(i) for i in active)
    return listed


def find_orphans(
    instances: Iterable[Instance], environment: str, listed: set[str], owner: str
) -> list[Instance]:
    """Live API instances of ``environment`` that this state launched and its stack does
    not list (another state's instances are not orphans of this one)."""
    live = live_instances_of(instances, environment, owner=owner)
    return [i for i in live if i.id not in listed]


def check_orphans(
    clients: Clients,
    backend_dir: Path,
    envs: Sequence[str],
    *,
    terminate: bool,
    dry_run: bool,
    unsettled: Mapping[str, PendingCheck] | None = None,
) -> list[OrphanCheck]:
    """Find (and terminate, when asked and not a dry run) each environment's orphans.

    An environment whose stack a provisioning run holds is skipped (its new instances are
    not in the stack yet, so they would look like orphans); so is one whose backend stack
    still has pending operations (``unsettled``): the instance a killed create launched is
    not in the stack until they are settled. The stack is read through a scratch copy of
    ``backend_dir``: selecting a stack may write its stack file.
    """
    try:
        engine = clients.stack_engine()
    except OpsError as error:  # ToolMissing among them: no Pulumi CLI
        return [OrphanCheck(e, UNCHECKED, note=why_unchecked(error)) for e in envs]
    state_dir = clients.settings.runtime.state_dir
    checks = []
    for environment in envs:
        pending = (unsettled or {}).get(environment)
        if pending is not None:
            checks.append(_not_judged(environment, pending))
            continue
        check = OrphanCheck(environment)
        try:
            with idle_target(state_dir, stacks_target(environment), dry_run=dry_run):
                # Listed before the stack is read: an instance launched meanwhile is not judged.
                instances = clients.lambda_cloud().list_instances()
                listed = _listed_by_stack(engine, backend_dir, environment)
                owner = clients.known_state_owner()
                if owner is not None:  # else this state launched nothing: none is its
                    check.orphans = find_orphans(instances, environment, listed, owner)
                check.note = _untagged_note(instances, environment)
                if terminate and check.orphans and not dry_run:
                    gone = clients.lambda_cloud().terminate([o.id for o in check.orphans])
                    check.terminated = [str(i.id) for i in gone]
        except Conflict:
            check.status = "skipped"
            check.note = f"a provisioning run of {environment} is in progress; not judged"
        except (OpsError, ValueError) as error:  # a dead API, an unreadable stack: unjudged
            check.status, check.note = UNCHECKED, why_unchecked(error)
        checks.append(check)
    return checks


def _not_judged(environment: str, pending: PendingCheck) -> OrphanCheck:
    if pending.status == UNCHECKED:  # whether a killed update left any is not known
        # Why is the pending check's to say (once): this one only points at it.
        why = f"the pending operations of {pending.stack} could not be checked"
        return OrphanCheck(environment, UNCHECKED, note=why)
    return OrphanCheck(
        environment,
        "skipped",
        note="pending operations of a killed update are not settled (a dry run): the "
        "instances they launched would look like orphans",
    )


def _listed_by_stack(engine: StackEngine, backend_dir: Path, environment: str) -> set[str]:
    """The instance ids the environment's stack lists (none when it has no stack yet)."""
    with scratch_project(backend_dir) as project:
        try:
            ref = engine.select(project, environment)
        except StackNotFound:
            return set()
        return stack_instance_ids(engine.outputs(ref)) | state_instance_ids(engine, ref)


def _untagged_note(instances: Iterable[Instance], environment: str) -> str:
    """Instances launched before owner tags existed: listed, never judged (whose?)."""
    untagged = untagged_instances_of(instances, environment)
    if not untagged:
        return ""
    ids = ", ".join(str(i.id) for i in untagged)
    return (
        f"{len(untagged)} instance(s) of {environment} carry no owner tag (launched before "
        f"owner tags): {ids}; not judged, as no state can tell whose they are: terminate "
        "by hand those no state lists"
    )
