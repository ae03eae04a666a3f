"""The stack engine over Pulumi's Automation API, each project's program run inline.

The CLI is ``pulumi`` on PATH, else the one ``make pulumi`` builds into its cache
(:func:`find_cli` says which). Programs run in this process as inline Automation API
programs (no language host plugin), chosen by the project's name in Pulumi.yaml
(:func:`our_program`); the project directory stays the workspace, so Pulumi.yaml and
Pulumi.<stack>.yaml are the project and stack settings. Dynamic providers run in the
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

import datetime as dt
import functools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi.automation as auto
from pulumi.automation._stack import StackInitMode  # not re-exported by pulumi.automation

from orchestra_ops.adapters.pulumi import pending
from orchestra_ops.adapters.pulumi.backend import (
    WRONG_KEY_HINT,
    Backend,
    choose_backend,
    holds_no_state,
)
from orchestra_ops.adapters.pulumi.locks import lock_files, remove_lock, torn_sidecars
from orchestra_ops.adapters.pulumi.locks import stale_locks as stale_locks  # re-exported
from orchestra_ops.adapters.pulumi.programs import our_program
from orchestra_ops.domain.run_markdown import change_counts
from orchestra_ops.errors import (
    StackConflict,
    StackError,
    StackNotFound,
    StackUnavailable,
    ToolMissing,
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
from orchestra_ops.settings import LambdaCloudSettings, PulumiSettings

INSTALL_HINT = (
    "No package registry ships the Pulumi CLI (PyPI's `pulumi` is only the SDK): build it "
    "with `make pulumi` (into ~/.cache/orchestra-ops/pulumi, found there without PATH), or "
    "install it from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com "
    "| sh) and put `pulumi` on PATH; then run `orchestra-ops doctor`"
)
LAUNCHER = "pulumi-resource-pulumi-python"
"""The plugin the engine starts for Python dynamic providers (``make pulumi`` installs ours)."""
CLI_VERSION_FILE = Path(__file__).resolve().parents[3] / "tools" / "pulumi-cli.version"
OFFLINE_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}
_log = logging.getLogger(__name__)
INLINE_PROGRAMS = threading.Lock()
"""Held while an inline program may run: pulumi's runtime settings are process-global."""
_STDERR_TAIL = 600
_CONFIG_TIMEOUT_S = 120
T = TypeVar("T")
#: The key and value that mark an encrypted secret in checkpoint JSON.
_SIGNATURE = "4dabf18193072939515e22adb298388d"
_SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (a type tag, not a secret)

# --- the CLI ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PulumiCli:
    """The ``pulumi`` executable, where it came from, and the dynamic-provider launcher."""

    executable: Path
    origin: str
    launcher_dir: Path | None = None

    def describe(self) -> str:
        """One line for ``doctor``: the path, its origin, and the launcher (or its absence)."""
        launcher = (
            f"dynamic providers through {self.launcher_dir / LAUNCHER}"
            if self.launcher_dir is not None
            else f"no {LAUNCHER} found, so dynamic providers cannot run (`make pulumi`)"
        )
        return f"{self.executable} (from {self.origin}); {launcher}"


def cache_bin_dir(environ: Mapping[str, str]) -> Path | None:
    """Where ``make pulumi`` installs the pinned CLI (tools/build-pulumi.sh's rules)."""
    version = environ.get("ORCHESTRA_PULUMI_CLI_VERSION") or _pinned_cli_version()
    if not version:
        return None
    cache = environ.get("ORCHESTRA_PULUMI_CACHE")
    if not cache:
        home = environ.get("HOME") or str(Path.home())
        base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
        cache = os.path.join(base, "orchestra-ops", "pulumi")
    return Path(cache) / f"v{version.strip().removeprefix('v')}" / "bin"


def _pinned_cli_version() -> str | None:
    try:
        return CLI_VERSION_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:  # an installed package has no tools/: only PATH counts then
        return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_cli(environ: Mapping[str, str] | None = None) -> PulumiCli | None:
    """``pulumi`` on PATH, else the ``make pulumi`` cache; None when neither has it."""
    env = os.environ if environ is None else environ
    search = env.get("PATH", os.defpath)
    cache = cache_bin_dir(env)
    on_path = shutil.which("pulumi", path=search)
    if on_path is not None:
        executable, origin = Path(on_path), "PATH"
    elif cache is not None and _executable(cache / "pulumi"):
        executable, origin = cache / "pulumi", f"the `make pulumi` cache {cache}"
    else:
        return None
    launcher = shutil.which(LAUNCHER, path=search)
    candidates = [executable.parent, Path(launcher).parent if launcher else None, cache]
    launcher_dir = next(
        (d for d in candidates if d is not None and _executable(d / LAUNCHER)), None
    )
    return PulumiCli(executable, origin, launcher_dir)


def tool_env(cli: PulumiCli) -> dict[str, str]:
    """What every CLI call needs besides credentials: offline flags, plugins, the interpreter.

    PATH leads with the CLI's directory (its own plugins first, as the CLI expects), then
    the launcher's, then this interpreter's (a launcher that runs ``python3`` finds ours).
    """
    dirs = [cli.executable.parent, cli.launcher_dir, Path(sys.executable).parent]
    path = [str(d) for d in dirs if d is not None]
    path += os.environ.get("PATH", os.defpath).split(os.pathsep)
    return {
        **OFFLINE_ENV,
        "PULUMI_PYTHON": sys.executable,
        "PATH": os.pathsep.join(dict.fromkeys(p for p in path if p)),
    }


@functools.cache
def pulumi_command(executable: Path) -> auto.PulumiCommand:
    """The Automation API's handle on ``executable`` (its version is checked once)."""
    # Found on PATH outside a bin/ directory: run by name, as PATH resolves it.
    root = str(executable.parent.parent) if executable.parent.name == "bin" else None
    try:
        return auto.PulumiCommand(root=root)
    except (OSError, subprocess.SubprocessError, auto.InvalidVersionError) as error:
        raise StackUnavailable(
            f"`{executable} version` failed ({error}); reinstall the CLI. {INSTALL_HINT}"
        ) from error


def missing_cli(disables: str) -> ToolMissing:
    """The ToolMissing raised when :func:`find_cli` finds nothing."""
    return ToolMissing("pulumi (the Pulumi CLI)", disables=disables, install_hint=INSTALL_HINT)


def provider_environment(lambda_cloud: LambdaCloudSettings) -> dict[str, str]:
    """The settings the dynamic providers read, as their plugin process's environment.

    The plugin runs in the project directory, where a ``.env`` of the worker's directory
    is not found; the composition root hands the engine the settings it already read.
    """
    env = {
        LambdaCloudSettings.env_name("api_url"): lambda_cloud.api_url,
        LambdaCloudSettings.env_name("timeout_s"): str(lambda_cloud.timeout_s),
    }
    if lambda_cloud.api_key is not None:
        env[LambdaCloudSettings.env_name("api_key")] = lambda_cloud.api_key.get_secret_value()
    return env


def scrubber(backend: Backend, *credentials: str) -> Callable[[str], str]:
    """A function that replaces every credential of ``backend`` (and ``credentials``) in a
    text with ``***``."""
    values = [v for k, v in backend.env.items() if k != "PULUMI_BACKEND_URL" and v]
    values += [v for v in credentials if v]

    def scrub(text: str) -> str:
        for value in values:
            text = text.replace(value, "***")
        return text

    return scrub


# --- errors and events --------------------------------------------------------------------


def to_stack_event(event: auto.EngineEvent) -> StackEvent:
    """One engine event as a flat StackEvent."""
    if event.diagnostic_event is not None:
        d = event.diagnostic_event
        return StackEvent("diagnostic", d.message.strip(), urn=d.urn, severity=d.severity)
    for kind, step in (
        ("resource-pre", event.resource_pre_event),
        ("resource-done", event.res_outputs_event),
        ("resource-failed", event.res_op_failed_event),
    ):
        if step is not None:
            meta = step.metadata
            op = getattr(meta.op, "value", str(meta.op))
            return StackEvent(kind, f"{op} {meta.urn}", urn=meta.urn, op=op)
    if event.summary_event is not None:
        counts = {
            getattr(k, "value", str(k)): v for k, v in event.summary_event.resource_changes.items()
        }
        return StackEvent("summary", f"done: {change_counts(counts)}")
    if event.stdout_event is not None:
        return StackEvent("stdout", event.stdout_event.message.rstrip())
    return StackEvent("other", "")


@contextmanager
def translated(what: str, ref: StackRef, scrub: Callable[[str], str]) -> Iterator[None]:
    """Automation errors as StackError types; stderr is trimmed and scrubbed of secrets."""
    try:
        yield
    except auto.ConcurrentUpdateError as error:
        raise StackConflict(
            f"{what} of {ref.label}: another update holds the stack lock; wait for it, or "
            "cancel it if it crashed (`pulumi cancel`), then retry"
        ) from error
    except auto.StackNotFoundError as error:
        raise StackNotFound(
            f"{what} of {ref.label}: the stack does not exist in the backend"
        ) from error
    except auto.CommandError as error:
        # str() of a CommandError is the command's code, stdout and stderr.
        text = scrub(str(error))
        killed = _KILLED.match(text)
        if killed:
            number = int(killed.group(1))
            name = signal.Signals(number).name if number in _SIGNALS else f"signal {number}"
            raise StackError(
                f"{what} of {ref.label}: the Pulumi CLI was killed ({name}); the next update "
                "or `orchestra-ops recover` settles what it left pending"
            ) from error
        hint = f" ({WRONG_KEY_HINT})" if "incorrect passphrase" in text else ""
        raise StackError(f"{what} of {ref.label} failed: {essence(text)}{hint}") from error
    except OSError as error:
        raise StackUnavailable(
            f"{what} of {ref.label}: could not run the engine ({error})"
        ) from error


#: A CommandError's text when the CLI died of a signal (its exit code is minus the signal).
_KILLED = re.compile(r"\s*code: -(\d+)\b")
_SIGNALS = {s.value for s in signal.Signals}
#: The last line of a Python traceback a dynamic provider raised: ``pkg.mod.Class: text``.
_EXCEPTION_LINE = re.compile(
    r"^(?:[a-z_]\w*\.)+([A-Z]\w*: .+)$|^([A-Z]\w*(?:Error|Exception): .+)$"
)
#: Lines of a traceback's body: where it was, not what happened.
_TRACEBACK_LINE = re.compile(r"^(?:Traceback \(|File \"|raise |\^+$)|error: Traceback \(")


def essence(output: str) -> str:
    """What went wrong, out of a CLI's output: the exceptions a provider raised (without
    their tracebacks) and the engine's own error lines; else the output's last characters."""
    errors: list[str] = []
    for line in output.splitlines():
        text = line.strip().strip('"').strip()
        if not text or _TRACEBACK_LINE.search(text):
            continue
        raised = _EXCEPTION_LINE.match(text)
        if raised or re.search(r"\berror\b", text, re.IGNORECASE):
            text = (raised.group(1) or raised.group(2)) if raised else text
            if not any(_says(seen, text) for seen in errors):  # the same error, said again
                errors = [seen for seen in errors if not _says(text, seen)] + [text]
    return _tail(" | ".join(errors) or " ".join(output.split()))


def _says(longer: str, shorter: str) -> bool:
    """``shorter`` is in ``longer`` as whole words (``error: 403`` is not in ``4030``)."""
    return re.search(rf"(?<!\w){re.escape(shorter)}(?!\w)", longer) is not None


def _tail(text: str) -> str:
    """The last :data:`_STDERR_TAIL` characters, from a word's start, marked as cut."""
    if len(text) <= _STDERR_TAIL:
        return text
    cut = text[-_STDERR_TAIL:]
    return "…" + (cut.split(" ", 1)[1] if " " in cut else cut)


# --- the stack ----------------------------------------------------------------------------


class LeanStack(auto.Stack):
    """An Automation API stack that makes one CLI call after an update instead of three.

    The SDK follows ``up``, ``refresh`` and ``destroy`` with ``stack output --json`` twice
    (masked, then with secrets shown) and ``stack history``, each a CLI start of at least
    0.3 s of CPU. Here the change counts come from the operation's own summary event
    (:meth:`listen`), and the outputs from one ``stack export`` in which secret values stay
    encrypted: this process never decrypts a secret output.
    """

    def __init__(self, name: str, workspace: auto.LocalWorkspace, *, create: bool) -> None:
        mode = StackInitMode.CREATE_OR_SELECT if create else StackInitMode.SELECT
        super().__init__(name, workspace, mode)
        self._changes: dict[auto.OpType, int] | None = None

    def listen(self, on_event: OnEvent | None) -> Callable[[auto.EngineEvent], None]:
        """The event handler for one operation: it keeps the summary's change counts and
        hands every event on, as a StackEvent, to ``on_event``."""
        self._changes = None

        def handle(event: auto.EngineEvent) -> None:
            if event.summary_event is not None:
                self._changes = dict(event.summary_event.resource_changes)
            if on_event is not None:
                on_event(to_stack_event(event))

        return handle

    def export_text(self) -> str:
        """``stack export`` without ``--show-secrets``: checkpoint JSON, secrets encrypted."""
        return str(self._run_pulumi_cmd_sync(["stack", "export"]).stdout)

    def outputs(self) -> auto.OutputMap:
        """The outputs, read from one export; a secret one's value is not decrypted (None)."""
        return {
            name: auto.OutputValue(value=None if secret else value, secret=secret)
            for name, (value, secret) in outputs_of(self.export_text(), self.name).items()
        }

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        """The last operation's change counts, from its summary event (``stack history``
        only when no summary event came). This adapter reads nothing else of it."""
        if self._changes is None:
            return super().info(show_secrets)
        now = dt.datetime.now(dt.UTC)
        return auto.UpdateSummary(
            kind="update",
            start_time=now,
            message="",
            environment={},
            config={},
            result="succeeded",
            end_time=now,
            resource_changes=self._changes,
        )


def outputs_of(checkpoint: str, stack: str) -> dict[str, tuple[object, bool]]:
    """The root stack's outputs in checkpoint JSON: name -> (value, secret)."""
    try:
        resources = json.loads(checkpoint)["deployment"].get("resources") or []
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise StackError(
            f"outputs of stack {stack}: its export is not checkpoint JSON ({error!r})"
        ) from error
    root: dict[str, Any] = next(
        (r for r in resources if r.get("type") == "pulumi:pulumi:Stack"), {}
    )
    return {
        name: (value, _holds_secret(value)) for name, value in (root.get("outputs") or {}).items()
    }


def _holds_secret(value: object) -> bool:
    if isinstance(value, dict):
        return value.get(_SIGNATURE) == _SECRET_SIGNATURE or any(map(_holds_secret, value.values()))
    if isinstance(value, list):
        return any(map(_holds_secret, value))
    return False


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
        self.last_checkpoint: Path | None = None

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
            with translated(what, ref, self._scrub), INLINE_PROGRAMS:
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
        with translated(what, ref, self._scrub), INLINE_PROGRAMS:
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
        with translated("select", ref, self._scrub):
            selected = self.open_stack(ref.project_dir, ref.stack, create=create)
        self._stacks[ref] = (selected, selected.workspace.project_settings().name)
        return ref

    def set_config(self, ref: StackRef, values: Mapping[str, str], *, secret: bool = False) -> None:
        """Set config values: plain ones in one CLI call; each secret on the CLI's stdin,
        stored encrypted."""
        stack = self._stack(ref)
        if not secret:
            with translated("config", ref, self._scrub):
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
            tail = self._scrub(done.stderr.strip())[-_STDERR_TAIL:]
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
        """Export a checkpoint (settling what a killed update left pending), then update;
        the outputs."""
        checkpoint = self.export(ref)
        if self.settle_pending(ref, on_event, checkpoint=checkpoint).found:
            checkpoint = self.export(ref)
        self.last_checkpoint = self._save_checkpoint(ref, checkpoint)
        result = self._run(
            "up", ref, lambda s: s.up(on_event=s.listen(on_event), show_secrets=False), on_event
        )
        return _outputs(result.outputs)

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        """The current outputs (a secret one's value is not decrypted: None)."""
        with translated("outputs", ref, self._scrub):
            return _outputs(self._stack(ref).outputs())

    def export(self, ref: StackRef) -> Checkpoint:
        """The state as checkpoint JSON, its secrets encrypted (no ``--show-secrets``)."""
        stack = self._stack(ref)
        with translated("export", ref, self._scrub):
            text = stack.export_text()
        try:
            data = json.loads(text)
            deployment = {"version": data["version"], "deployment": data["deployment"]}
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise StackError(
                f"export of {ref.label}: the CLI answered no checkpoint JSON ({error!r})"
            ) from error
        return Checkpoint(json.dumps(deployment))

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
        with translated("cancel", ref, self._scrub):
            self._stack(ref).cancel()

    def _save_checkpoint(self, ref: StackRef, checkpoint: Checkpoint) -> Path:
        folder = self._state_dir / "pulumi" / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{ref.project_dir.name}-{ref.stack}-{stamp}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(checkpoint)
        return path


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
