"""The stack engine over Pulumi's Automation API, each project's program run inline.

The CLI is ``pulumi`` on PATH, else the one ``make pulumi`` builds into its cache
(:mod:`~orchestra_ops.adapters.pulumi.cli` says which). Programs run in this process as
inline Automation API programs (no language host plugin), chosen by the project's name
in Pulumi.yaml (:func:`our_program`); the project directory stays the workspace, so
Pulumi.yaml and Pulumi.<stack>.yaml are the project and stack settings. Dynamic providers run in the
``pulumi-resource-pulumi-python`` plugin, with this interpreter (PULUMI_PYTHON).

Backends: Pulumi Cloud when PULUMI_ACCESS_TOKEN is set; else PULUMI_BACKEND_URL when
set; else a local ``file://`` backend under ``<state_dir>/pulumi``. Non-Cloud backends use
the passphrase secrets provider, with PULUMI_CONFIG_PASSPHRASE or a generated passphrase
kept 0600 in the state directory. Credentials and secret values travel in the environment
or on stdin, never in argv; checkpoints keep secrets encrypted. Automation errors become
the StackError subtree at this boundary; a lock that a killed CLI left on a file backend
is removed (:func:`stale_locks`) instead of refusing every later update, and the pending
operations it left are settled against the Lambda API before the next ``up``, ``refresh``
or ``destroy`` (:mod:`orchestra_ops.adapters.pulumi.pending`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi.automation as auto

from orchestra_ops.adapters.pulumi import pending
from orchestra_ops.adapters.pulumi.backend import (
    Backend,
    choose_backend,
    holds_no_state,
)
from orchestra_ops.adapters.pulumi.checkpoint import read_state
from orchestra_ops.adapters.pulumi.cli import (
    PulumiCli,
    find_cli,
    missing_cli,
    pulumi_command,
    tool_env,
)
from orchestra_ops.adapters.pulumi.cli_output import STDERR_TAIL, scrubber, translated
from orchestra_ops.adapters.pulumi.lean_stack import LeanStack
from orchestra_ops.adapters.pulumi.locks import lock_files, remove_lock, stale_locks, torn_sidecars
from orchestra_ops.adapters.pulumi.passphrase import check_key, checkpoint_salt, stack_file_salt
from orchestra_ops.adapters.pulumi.programs import our_program
from orchestra_ops.domain.pending_ops import StackState
from orchestra_ops.errors import (
    StackConflict,
    StackError,
    StackNotFound,
    StackUnavailable,
)
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.stack_engine import (
    ChangeSummary,
    Checkpoint,
    OnEvent,
    Settlement,
    StackEvent,
    StackOutput,
    StackRef,
)
from orchestra_ops.settings import PulumiSettings

_log = logging.getLogger(__name__)
INLINE_PROGRAMS = threading.Lock()
"""Held while an inline program may run: pulumi's runtime settings are process-global."""
_CONFIG_TIMEOUT_S = 120
T = TypeVar("T")


# --- the engine ---------------------------------------------------------------------------


class PulumiEngine:
    """Implements :class:`~orchestra_ops.ports.stack_engine.StackEngine` with the CLI."""

    def __init__(
        self,
        settings: PulumiSettings,
        state_dir: Path,
        *,
        cli: PulumiCli | None = None,
        provider_env: Mapping[str, str] | None = None,
        lambda_api: Callable[[], LambdaCloudApi] | None = None,
    ) -> None:
        """``provider_env``: what the dynamic providers need besides this process's
        environment (see :func:`provider_environment`). ``lambda_api``: the client that
        settles what a killed update left pending (default: built as the providers do)."""
        found = cli or find_cli()
        if found is None:
            raise missing_cli("stack preview/up/refresh/destroy cannot run")
        self._cli = found
        self._settings = settings
        self._state_dir = state_dir
        self._extra = dict(provider_env or {})
        self._lambda_api = lambda_api or functools.partial(pending.lambda_client, self._extra)
        self._stacks: dict[StackRef, tuple[LeanStack, str]] = {}
        # Nothing is written until a stack is created (select_or_create prepares it).
        self._use_backend(choose_backend(settings, state_dir, prepare=False), prepared=False)

    def _use_backend(self, backend: Backend, *, prepared: bool) -> None:
        credentials = (v for k, v in self._extra.items() if k.endswith(("_KEY", "_TOKEN")))
        self._backend = backend
        self._scrub = scrubber(backend, *credentials)
        self._env = {**tool_env(self._cli), **self._extra, **backend.env}
        self._prepared = prepared
        for selected, _ in self._stacks.values():  # stacks selected before it was prepared
            selected.workspace.env_vars = dict(self._env)

    def __repr__(self) -> str:
        return f"PulumiEngine(backend={self._backend.url or 'Pulumi Cloud'!r})"

    @property
    def cli(self) -> PulumiCli:
        """The CLI this engine runs."""
        return self._cli

    def _translated(self, what: str, ref: StackRef) -> AbstractContextManager[None]:
        """CLI errors of ``what`` as StackErrors, scrubbed, with this backend's key hint."""
        return translated(what, ref, self._scrub, self._backend.wrong_key_hint)

    def _stack(self, ref: StackRef) -> LeanStack:
        selected = self._stacks.get(ref)
        if selected is None:
            raise StackNotFound(
                f"{ref.label} was not selected; call select or select_or_create first"
            )
        return selected[0]

    def _run(
        self,
        what: str,
        ref: StackRef,
        operation: Callable[[LeanStack], T],
        on_event: OnEvent | None = None,
    ) -> T:
        """``operation`` translated, under the inline-program lock; once more after removing
        locks that dead CLIs left (see :func:`stale_locks`)."""
        stack = self._stack(ref)
        try:
            with self._translated(what, ref), INLINE_PROGRAMS:
                return operation(stack)
        except StackConflict:
            stale = stale_locks(self._backend.url, self._stacks[ref][1], ref.stack)
            if not stale:
                raise
        for lock in stale:
            remove_lock(lock)
        if on_event is not None:
            on_event(
                StackEvent(
                    "diagnostic",
                    f"removed {len(stale)} lock(s) of {ref.label} left by a CLI that is gone",
                    severity="warning",
                )
            )
        with self._translated(what, ref), INLINE_PROGRAMS:
            return operation(stack)

    def open_stack(self, project_dir: Path, stack: str, *, create: bool = True) -> LeanStack:
        """The stack as an inline-program workspace over ``project_dir`` (not translated).

        A checkpoint sidecar a killed CLI left torn is removed first (see
        :func:`~orchestra_ops.adapters.pulumi.locks.torn_sidecars`)."""
        project = our_program(project_dir)
        for torn in torn_sidecars(self._backend.url, project.name, stack):
            torn.unlink(missing_ok=True)
            _log.warning("removed %s: a killed CLI left it torn, and the stack unreadable", torn)
        workspace = auto.LocalWorkspace(
            work_dir=str(project_dir),
            program=project.run,
            pulumi_command=pulumi_command(self._cli.executable),
            env_vars=dict(self._env),
            secrets_provider=self._backend.secrets_provider,
        )
        return LeanStack(stack, workspace, create=create)

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        """Select (or create) ``stack`` of the project in ``project_dir``, once per engine
        (each later operation names its stack, so a selection stays valid).

        ConfigError, before any CLI call, when the directory holds no program of ours. The
        first call makes a ``file://`` backend's directory and the generated passphrase.
        """
        if not self._prepared:
            self._use_backend(choose_backend(self._settings, self._state_dir), prepared=True)
        return self._select(StackRef(project_dir.resolve(), stack), create=True)

    def select(self, project_dir: Path, stack: str) -> StackRef:
        """Select ``stack`` when it exists; StackNotFound when not, and nothing is created
        (not the stack, not the backend's directory, not a passphrase)."""
        ref = StackRef(project_dir.resolve(), stack)
        if ref not in self._stacks and holds_no_state(self._backend):
            raise StackNotFound(f"{ref.label}: no stack state in {self._backend.url}")
        return self._select(ref, create=False)

    def _select(self, ref: StackRef, *, create: bool) -> StackRef:
        if ref in self._stacks:
            return ref
        with self._translated("select", ref):
            selected = self.open_stack(ref.project_dir, ref.stack, create=create)
        self._stacks[ref] = (selected, selected.workspace.project_settings().name)
        return ref

    def set_config(self, ref: StackRef, values: Mapping[str, str], *, secret: bool = False) -> None:
        """Set config values: plain ones in one CLI call; each secret on the CLI's stdin,
        stored encrypted."""
        stack = self._stack(ref)
        if not secret:
            with self._translated("config", ref):
                stack.set_all_config({k: auto.ConfigValue(v) for k, v in values.items()})
            return
        for key, value in values.items():
            self._set_secret(ref, key, value)

    def _set_secret(self, ref: StackRef, key: str, value: str) -> None:
        # The Automation API would pass the value in argv (visible in `ps`): stdin instead.
        args = [str(self._cli.executable), "--non-interactive", "config", "set", key]
        args += ["--secret", "--stack", ref.stack]
        try:
            done = subprocess.run(
                args,
                input=value,
                cwd=ref.project_dir,
                env={**os.environ, **self._env},
                capture_output=True,
                text=True,
                timeout=_CONFIG_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise StackUnavailable(
                f"config of {ref.label}: could not run the CLI ({error})"
            ) from error
        if done.returncode != 0:
            tail = self._scrub(done.stderr.strip())[-STDERR_TAIL:]
            raise StackError(f"config of {ref.label} failed: {tail}")

    def lock_files(self, ref: StackRef) -> list[Path]:
        """The lock files of the stack (a ``file://`` backend's; others show none)."""
        return lock_files(self._backend.url, self._stacks[ref][1], ref.stack)

    def settle_pending(
        self,
        ref: StackRef,
        on_event: OnEvent | None = None,
        *,
        dry_run: bool = False,
        checkpoint: Checkpoint | None = None,
        destroying: bool = False,
    ) -> Settlement:
        """Settle the pending operations a killed update left (:mod:`.pending`)."""
        self._stack(ref)
        return pending.settle(
            self,
            ref,
            self._lambda_api,
            checkpoint=checkpoint,
            destroying=destroying,
            dry_run=dry_run,
            on_event=on_event,
        )

    def check_secrets_key(self, ref: StackRef) -> None:
        """StackError when the passphrase this engine hands the CLI does not open the
        stack's secrets (see :func:`~orchestra_ops.adapters.pulumi.passphrase.check_key`)."""
        stack_file = ref.project_dir / f"Pulumi.{ref.stack}.yaml"
        check_key(
            ref.label,
            self._backend.env.get("PULUMI_CONFIG_PASSPHRASE"),
            {
                "its state": lambda: checkpoint_salt(self.export(ref)),
                f"{ref.project_dir.name}/{stack_file.name}": lambda: stack_file_salt(stack_file),
            },
            self._backend.wrong_key_hint,
        )

    def refresh(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Settle what a killed update left pending, then refresh the state from the cloud."""
        self.settle_pending(ref, on_event)
        result = self._run(
            "refresh",
            ref,
            lambda s: s.refresh(on_event=s.listen(on_event), show_secrets=False),
            on_event,
        )
        return _summary(result.summary.resource_changes)

    def preview(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Preview an update."""
        result = self._run(
            "preview", ref, lambda s: s.preview(on_event=s.listen(on_event)), on_event
        )
        return _summary(result.change_summary)

    def up(self, ref: StackRef, on_event: OnEvent | None = None) -> Mapping[str, StackOutput]:
        """Settle what a killed update left pending, then update; the outputs. (What a
        rollback restores is the checkpoint the caller journals before the rollout.)"""
        self.settle_pending(ref, on_event)
        result = self._run(
            "up", ref, lambda s: s.up(on_event=s.listen(on_event), show_secrets=False), on_event
        )
        return _outputs(result.outputs)

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        """The current outputs (a secret one's value is not decrypted: None)."""
        with self._translated("outputs", ref):
            return _outputs(self._stack(ref).outputs())

    def export(self, ref: StackRef) -> Checkpoint:
        """The state as checkpoint JSON, its secrets encrypted (no ``--show-secrets``)."""
        stack = self._stack(ref)
        with self._translated("export", ref):
            text = stack.export_text()
        try:
            data = json.loads(text)
            deployment = {"version": data["version"], "deployment": data["deployment"]}
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise StackError(
                f"export of {ref.label}: the CLI answered no checkpoint JSON ({error!r})"
            ) from error
        return Checkpoint(json.dumps(deployment))

    def state(self, ref: StackRef) -> StackState:
        """The exported state's resources and pending operations."""
        return read_state(self.export(ref))

    def remove(self, ref: StackRef) -> None:
        """``pulumi stack rm --preserve-config`` without ``--force``: the CLI refuses a stack
        with resources."""
        self._run(
            "remove", ref, lambda s: s.workspace.remove_stack(ref.stack, preserve_config=True)
        )
        del self._stacks[ref]

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        """Replace the state with ``checkpoint``."""
        data = json.loads(checkpoint)
        deployment = auto.Deployment(data.get("version"), data.get("deployment"))
        self._run("import", ref, lambda s: s.import_stack(deployment))

    def destroy(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Delete every resource of the stack, and what a killed update left pending."""
        self.settle_pending(ref, on_event, destroying=True)
        result = self._run(
            "destroy",
            ref,
            lambda s: s.destroy(on_event=s.listen(on_event), show_secrets=False),
            on_event,
        )
        return _summary(result.summary.resource_changes)

    def cancel(self, ref: StackRef) -> None:
        """Cancel a running update."""
        with self._translated("cancel", ref):
            self._stack(ref).cancel()


def _summary(counts: Mapping[Any, int] | None) -> ChangeSummary:
    return ChangeSummary({getattr(k, "value", str(k)): int(v) for k, v in (counts or {}).items()})


def _outputs(values: Mapping[str, auto.OutputValue]) -> dict[str, StackOutput]:
    return {name: StackOutput(v.value, bool(v.secret)) for name, v in values.items()}


if TYPE_CHECKING:
    from orchestra_ops.ports.stack_engine import SettlesPending, StackEngine

    def _implements_the_port(engine: PulumiEngine) -> StackEngine:
        return engine

    def _settles_pending(engine: PulumiEngine) -> SettlesPending:
        return engine
