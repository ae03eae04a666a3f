"""Undoing a blue-green rollout a provisioning run could not finish, over the ports.

A run journals its rollout (``orchestra_ops.saga``) before the new colour goes up, with
the stack checkpoint taken just before in the backup store. When the run fails and its
own rollback cannot finish (the Lambda API refusing the key, the engine down), or the
run is killed, the intent stays open; ``orchestra-ops recover`` then terminates the
abandoned colour's instances through the Lambda API (never a serving one) and restores
the stack's state from the checkpoint. The next run of the environment tears leftovers
down itself and closes older rollouts as superseded. Plain functions; no Prefect.

Recovery never resolves a recorded project directory against its own working directory
and never writes into a directory other than the one the run used: when that one is gone
(a deployment run's clone) or was recorded relative (before runs recorded absolute ones),
the state is restored through a scratch copy of the project and the stack file is not.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestra_ops.adapters.backups import BackupStore
from orchestra_ops.adapters.files import restore_texts
from orchestra_ops.domain.provisioning import live_instances_of
from orchestra_ops.domain.stack_config import changed_only_by_preview
from orchestra_ops.errors import ConfigError, StackNotFound
from orchestra_ops.ledger import Closure, Compensator, Decision, Intent
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.stack_engine import Checkpoint, StackEngine
from orchestra_ops.saga import Saga

SAGA_PREFIX = "lambda:"
ROLLOUT_STEP = "rollout"
ROLLOUT_ACTION = "lambda-rollout-undo"
PREVIEW_STEP = "preview-stacks"
PREVIEW_ACTION = "lambda-preview-undo"


def saga_id(environment: str, run_id: str) -> str:
    """The saga of one provisioning run of one environment."""
    return f"{SAGA_PREFIX}{environment}:{run_id}"


def environment_of(saga: Saga) -> str:
    """The environment a provisioning saga changed (its lock's target)."""
    return saga.id.removeprefix(SAGA_PREFIX).split(":", 1)[0]


@contextmanager
def scratch_project(source: Path) -> Iterator[Path]:
    """A throwaway copy of the project in ``source`` (its top-level files, stack files
    included), named as it is: the engine may write stack files there, never in ``source``.

    ConfigError when ``source`` holds no project file."""
    if not (source / "Pulumi.yaml").is_file():
        raise ConfigError(
            f"{source}/Pulumi.yaml: no project file to work from (pass --infrastructure-dir "
            "of a checkout holding the shared and backend projects)",
            source=str(source),
        )
    with tempfile.TemporaryDirectory(prefix="orchestra-project-") as scratch:
        copy = Path(scratch) / source.name
        copy.mkdir()
        for path in source.iterdir():
            if path.is_file():
                shutil.copy2(path, copy / path.name)
        try:
            yield copy
        except ConfigError as error:  # a file of the copy is at fault: name the user's own
            named = str(error).replace(str(copy), str(source))
            at = error.source.replace(str(copy), str(source)) if error.source else None
            raise ConfigError(named, source=at) from error


def undo_rollout(
    api: LambdaCloudApi,
    engine: Callable[[], StackEngine],
    backups: BackupStore,
    owner: str,
    intent: Intent,
    projects: Path | None = None,
) -> Decision:
    """Terminate the abandoned colour (serving instances untouched), restore the state.

    Only instances of the state that journalled the rollout (``owner`` for an intent
    written before intents carried it). When the run's project directory is gone, or was
    recorded relative, the state is restored through a scratch copy of the backend
    project in ``projects`` (read only) and the stack file is restored nowhere."""
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
    name, stack_file = str(intent.undo["backup"]), f"Pulumi.{environment}.yaml"
    recorded = Path(str(intent.target["backend_dir"]))
    checkpoint = Checkpoint(backups.checkpoint(name))
    if recorded.is_absolute() and (recorded / "Pulumi.yaml").is_file():
        stack.import_(stack.select_or_create(recorded, environment), checkpoint)
        restore_texts(recorded, backups.files(name))
        restored = f"stack state and {stack_file} restored from before the rollout"
    else:
        if projects is None:
            raise ConfigError(
                f"{recorded}: the run's project directory is not here, and no "
                "project to work from was given"
            )
        with scratch_project(projects) as scratch:
            stack.import_(stack.select_or_create(scratch, environment), checkpoint)
        if not recorded.is_absolute():
            why = "recorded relative to that run's own working directory, not known here"
        else:
            why = "which no longer holds the project" if recorded.exists() else "which is gone"
        restored = (
            f"stack state restored from before the rollout; {stack_file} was in the run's "
            f"directory {recorded}, {why}: nothing to restore there"
        )
    backups.discard(name)
    return Decision(
        Closure.COMPENSATED,
        f"{len(left)} {colour} instance(s) of {environment} terminated; {restored}",
    )


def undo_preview(
    engine: Callable[[], StackEngine],
    backups: BackupStore,
    intent: Intent,
    projects: Path | None = None,
) -> Decision:
    """Put back what a dry run changed for its preview: remove the stacks it created (only
    while empty: one a run has provisioned since is kept) and restore the stack files it
    wrote the request's config into.

    When the run's directory is gone (a deployment run's clone), its stacks are removed
    through a scratch copy of the project in ``projects`` (the infrastructure directory,
    read only) and no stack file is restored; without ``projects`` it stays open. A stack
    file changed since in a way the preview does not change it (someone's edit) is left."""
    environment, infra = str(intent.target["environment"]), Path(str(intent.target["infra"]))
    created = {str(p) for p in intent.target["new"]}
    originals = backups.files(str(intent.undo["backup"]))
    stack, said, restored = engine(), [], []
    for project in [str(p) for p in intent.target["projects"]]:
        project_dir = infra / project
        here = project_dir.is_absolute() and (project_dir / "Pulumi.yaml").is_file()
        kept = False
        if project in created:
            if here:
                kept, outcome = _remove_if_empty(stack, project_dir, environment)
            elif projects is None:
                raise ConfigError(
                    f"{project_dir}: the dry run's project directory is not here, and no "
                    "project to work from was given"
                )
            else:
                with scratch_project(projects / project) as scratch:
                    kept, outcome = _remove_if_empty(stack, scratch, environment)
            said.append(f"{project}/{environment}: {outcome}")
        file = f"{project}/Pulumi.{environment}.yaml"
        overrides = intent.target["overrides"].get(project) or {}
        if here and not kept:
            if changed_only_by_preview(originals.get(file), _text(infra / file), overrides, file):
                restore_texts(infra, {file: originals.get(file)})
                restored.append(file)
            else:
                said.append(f"{file}: changed since the dry run, not by it; left as it is")
        elif not here:
            said.append(f"{file}: in {infra}, which is gone; nothing to restore there")
    if restored:
        said.append(f"{', '.join(restored)} restored")
    backups.discard(str(intent.undo["backup"]))
    return Decision(
        Closure.COMPENSATED, "what a dry run changed for its preview: " + "; ".join(said)
    )


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _remove_if_empty(stack: StackEngine, project_dir: Path, environment: str) -> tuple[bool, str]:
    """Whether the stack is kept (it holds resources), and what became of it."""
    try:
        ref = stack.select(project_dir, environment)
    except StackNotFound:
        return False, "not there (never made, or removed already)"
    if stack.state(ref).resources:
        return True, "kept, a run has provisioned it since"
    stack.remove(ref)
    return False, "removed"


def is_preview(saga: Saga) -> bool:
    """True for a dry run's saga: its open intents are all preview undos."""
    return all(i.action == PREVIEW_ACTION for i in saga.open_intents())


def preview_compensators(
    engine: Callable[[], StackEngine], backups: BackupStore, projects: Path | None
) -> dict[str, Compensator]:
    """The compensator of a dry run's preview (``projects``: the infrastructure directory
    to copy when a run's own is gone, see :func:`undo_preview`)."""
    return {PREVIEW_ACTION: lambda intent: undo_preview(engine, backups, intent, projects)}


def compensators(
    api: Callable[[], LambdaCloudApi],
    engine: Callable[[], StackEngine],
    backups: BackupStore,
    owner: str,
    projects: Path | None = None,
) -> dict[str, Compensator]:
    """The compensator of each provisioning undo action (``projects``: the backend
    project to copy when a run's own directory is gone, see :func:`undo_rollout`)."""
    return {
        ROLLOUT_ACTION: lambda intent: undo_rollout(
            api(), engine, backups, owner, intent, projects
        ),
        **preview_compensators(engine, backups, projects.parent if projects else None),
    }
