"""The stack engine over Pulumi's Automation API (which drives the ``pulumi`` CLI).

Backends: Pulumi Cloud when PULUMI_ACCESS_TOKEN is set; else PULUMI_BACKEND_URL when
set; else a local ``file://`` backend under ``<state_dir>/pulumi``. Non-Cloud backends use
the passphrase secrets provider, with PULUMI_CONFIG_PASSPHRASE or a generated passphrase
kept 0600 in the state directory. Every ``up`` is preceded by a checkpoint export.
Automation errors become the StackError subtree at this boundary.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi.automation as auto

from orchestra_ops.errors import (
    StackConflict,
    StackError,
    StackNotFound,
    StackUnavailable,
    ToolMissing,
)
from orchestra_ops.ports.stack_engine import (
    ChangeSummary,
    Checkpoint,
    OnEvent,
    StackEvent,
    StackOutput,
    StackRef,
)
from orchestra_ops.settings import PulumiSettings

INSTALL_HINT = (
    "No package registry ships the Pulumi CLI (PyPI's `pulumi` is only the SDK): install it "
    "from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh) and "
    "put `pulumi` on PATH, then run `orchestra-ops doctor`"
)
_STDERR_TAIL = 600


@dataclass(frozen=True)
class Backend:
    """Where state lives and how secrets are encrypted; ``env`` holds credentials (no repr)."""

    url: str | None
    secrets_provider: str | None
    env: Mapping[str, str] = field(repr=False, default_factory=dict)


def choose_backend(settings: PulumiSettings, state_dir: Path) -> Backend:
    """Cloud with a token; else PULUMI_BACKEND_URL; else ``file://<state_dir>/pulumi``."""
    env: dict[str, str] = {}
    if settings.access_token is not None:
        env["PULUMI_ACCESS_TOKEN"] = settings.access_token.get_secret_value()
        if settings.backend_url:
            env["PULUMI_BACKEND_URL"] = settings.backend_url
        return Backend(settings.backend_url, None, env)
    root = state_dir / "pulumi"
    url = settings.backend_url or (root / "state").resolve().as_uri()
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    env["PULUMI_BACKEND_URL"] = url
    env["PULUMI_CONFIG_PASSPHRASE"] = _passphrase(settings, root)
    return Backend(url, "passphrase", env)


def _passphrase(settings: PulumiSettings, root: Path) -> str:
    if settings.config_passphrase is not None:
        return settings.config_passphrase.get_secret_value()
    path = root / "passphrase"
    if path.exists():
        return path.read_text().strip()
    root.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


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
        return StackEvent("summary", f"done: {counts}")
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
        tail = scrub(str(error).strip())[-_STDERR_TAIL:]
        raise StackError(f"{what} of {ref.label} failed: {tail}") from error
    except OSError as error:
        raise StackUnavailable(
            f"{what} of {ref.label}: could not run the engine ({error})"
        ) from error


class PulumiEngine:
    """Implements :class:`~orchestra_ops.ports.stack_engine.StackEngine` with the CLI."""

    def __init__(self, settings: PulumiSettings, state_dir: Path) -> None:
        if shutil.which("pulumi") is None:
            raise ToolMissing(
                "pulumi (the Pulumi CLI)",
                disables="stack preview/up/refresh/destroy cannot run",
                install_hint=INSTALL_HINT,
            )
        self._state_dir = state_dir
        self._backend = choose_backend(settings, state_dir)
        self._stacks: dict[StackRef, auto.Stack] = {}
        self.last_checkpoint: Path | None = None

    def __repr__(self) -> str:
        return f"PulumiEngine(backend={self._backend.url or 'Pulumi Cloud'!r})"

    def _scrub(self, text: str) -> str:
        for name, value in self._backend.env.items():
            if name != "PULUMI_BACKEND_URL" and value:
                text = text.replace(value, "***")
        return text

    def _stack(self, ref: StackRef) -> auto.Stack:
        stack = self._stacks.get(ref)
        if stack is None:
            raise StackNotFound(f"{ref.label} was not selected; call select_or_create first")
        return stack

    def _emit(self, on_event: OnEvent | None) -> Callable[[auto.EngineEvent], None] | None:
        if on_event is None:
            return None
        return lambda event: on_event(to_stack_event(event))

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        """Select (or create) ``stack`` of the project in ``project_dir``."""
        ref = StackRef(project_dir.resolve(), stack)
        options = auto.LocalWorkspaceOptions(
            env_vars=dict(self._backend.env), secrets_provider=self._backend.secrets_provider
        )
        with translated("select", ref, self._scrub):
            self._stacks[ref] = auto.create_or_select_stack(
                stack_name=stack, work_dir=str(ref.project_dir), opts=options
            )
        return ref

    def set_config(self, ref: StackRef, key: str, value: str, *, secret: bool = False) -> None:
        """Set one config value (secrets are encrypted by the stack's provider)."""
        with translated("config", ref, self._scrub):
            self._stack(ref).set_config(key, auto.ConfigValue(value, secret=secret))

    def refresh(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Refresh the state from the cloud."""
        with translated("refresh", ref, self._scrub):
            result = self._stack(ref).refresh(on_event=self._emit(on_event))
        return _summary(result.summary.resource_changes)

    def preview(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Preview an update."""
        with translated("preview", ref, self._scrub):
            result = self._stack(ref).preview(on_event=self._emit(on_event))
        return _summary(result.change_summary)

    def up(self, ref: StackRef, on_event: OnEvent | None = None) -> Mapping[str, StackOutput]:
        """Export a checkpoint, then update; the outputs."""
        self.last_checkpoint = self._save_checkpoint(ref, self.export(ref))
        with translated("up", ref, self._scrub):
            result = self._stack(ref).up(on_event=self._emit(on_event))
        return _outputs(result.outputs)

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        """The current outputs."""
        with translated("outputs", ref, self._scrub):
            return _outputs(self._stack(ref).outputs())

    def export(self, ref: StackRef) -> Checkpoint:
        """The state as checkpoint JSON."""
        with translated("export", ref, self._scrub):
            deployment = self._stack(ref).export_stack()
        return Checkpoint(
            json.dumps({"version": deployment.version, "deployment": deployment.deployment})
        )

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        """Replace the state with ``checkpoint``."""
        data = json.loads(checkpoint)
        with translated("import", ref, self._scrub):
            self._stack(ref).import_stack(
                auto.Deployment(data.get("version"), data.get("deployment"))
            )

    def destroy(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Delete every resource of the stack."""
        with translated("destroy", ref, self._scrub):
            result = self._stack(ref).destroy(on_event=self._emit(on_event))
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
    from orchestra_ops.ports.stack_engine import StackEngine

    def _implements_the_port(engine: PulumiEngine) -> StackEngine:
        return engine
