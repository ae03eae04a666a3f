"""Stack-state migration over the ``pulumi`` CLI, run through the Automation API's PulumiCommand.

Same backend and environment as the engine (``choose_backend``): Pulumi Cloud with a
token, else PULUMI_BACKEND_URL, else the local file backend. Stacks are named fully
qualified, ``org/project/stack``; the file (diy) backends know a single organisation,
``organization``, so ``org`` only counts on Pulumi Cloud. Checkpoints are exported without
``--show-secrets`` (secrets stay encrypted) into 0600 files. CLI failures become the
StackError subtree through the engine's ``translated``, with credentials scrubbed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi.automation as auto

from orchestra_ops.adapters.pulumi_engine import (
    INSTALL_HINT,
    Backend,
    choose_backend,
    translated,
)
from orchestra_ops.errors import StackError, StackUnavailable, ToolMissing
from orchestra_ops.ports.stack_engine import StackRef
from orchestra_ops.programs.config import DEFAULT_ORG
from orchestra_ops.settings import PulumiSettings


class PulumiStateMigrator:
    """Implements :class:`~orchestra_ops.ports.stack_state.StateMigrator` with the CLI."""

    def __init__(self, settings: PulumiSettings, state_dir: Path, *, org: str) -> None:
        if shutil.which("pulumi") is None:
            raise ToolMissing(
                "pulumi (the Pulumi CLI)",
                disables="stack state cannot be migrated, so the reorganisation ends in "
                "'state migration pending' with the commands to run by hand",
                install_hint=INSTALL_HINT,
            )
        self._backend = choose_backend(settings, state_dir)
        self._cloud = "PULUMI_ACCESS_TOKEN" in self._backend.env
        self._org = org if self._cloud else DEFAULT_ORG
        # Commands that need no project run here: a directory without a Pulumi.yaml.
        self._neutral_dir = state_dir / "pulumi"
        self._scrub = scrubber(self._backend)
        self._command: auto.PulumiCommand | None = None

    def __repr__(self) -> str:
        return f"PulumiStateMigrator(backend={self._backend.url or 'Pulumi Cloud'!r})"

    def qualified(self, project: str, stack: str) -> str:
        """The fully qualified name the backend knows the stack by."""
        return f"{self._org}/{project}/{stack}"

    def export_stack(self, project: str, stack: str, destination: str) -> None:
        """``pulumi stack export --stack org/project/stack --file destination`` (mode 0600)."""
        path = Path(destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created private before the CLI writes into it, so the state is never world-readable.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        path.chmod(0o600)
        args = ["stack", "export", "--stack", self.qualified(project, stack), "--file", str(path)]
        self._run("export", project, stack, args)

    def rename_stack(
        self, old_project: str, new_project: str, stack: str, project_dir: str | None = None
    ) -> None:
        """``pulumi stack rename org/new/stack --stack org/old/stack`` in ``project_dir``."""
        new, old = self.qualified(new_project, stack), self.qualified(old_project, stack)
        self._run(
            "rename", old_project, stack, ["stack", "rename", new, "--stack", old], project_dir
        )

    def stack_exists(self, project: str, stack: str) -> bool:
        """Whether ``pulumi stack ls --project project`` lists ``stack``."""
        args = ["stack", "ls", "--json", "--project", project]
        if self._cloud:
            args += ["--organization", self._org]
        result = self._run("stack list", project, stack, args)
        try:
            listed = json.loads(result.stdout or "[]")
        except json.JSONDecodeError as error:
            raise StackError(
                f"stack list of {project}: the CLI answered something other than JSON; "
                "check `pulumi version` and the backend"
            ) from error
        names = [str(item.get("name", "")) for item in listed if isinstance(item, dict)]
        return any(_names_stack(name, project, stack) for name in names)

    def restore_stack(
        self, project: str, stack: str, checkpoint: str, project_dir: str | None = None
    ) -> None:
        """``pulumi stack import --stack org/project/stack --file checkpoint``."""
        args = ["stack", "import", "--stack", self.qualified(project, stack), "--file", checkpoint]
        self._run("restore", project, stack, args, project_dir)

    def verify_no_changes(self, project: str, stack: str, project_dir: str) -> None:
        """``pulumi preview --expect-no-changes`` in ``project_dir``; StackError on changes."""
        args = ["preview", "--expect-no-changes", "--stack", self.qualified(project, stack)]
        self._run("no-change preview", project, stack, args, project_dir)

    def _run(
        self, what: str, project: str, stack: str, args: list[str], cwd: str | None = None
    ) -> auto.CommandResult:
        # ``translated`` reads only the ref's label, which is ``project/stack`` here.
        ref = StackRef(Path(project), stack)
        if cwd is None:
            self._neutral_dir.mkdir(parents=True, exist_ok=True)
        with translated(what, ref, self._scrub):
            return self._cli().run(args, cwd or str(self._neutral_dir), dict(self._backend.env))

    def _cli(self) -> auto.PulumiCommand:
        if self._command is None:
            try:
                self._command = auto.PulumiCommand()
            except (OSError, subprocess.SubprocessError, auto.InvalidVersionError) as error:
                raise StackUnavailable(
                    f"`pulumi version` failed ({self._scrub(str(error))}); reinstall the CLI. "
                    f"{INSTALL_HINT}"
                ) from error
        return self._command


def scrubber(backend: Backend) -> Callable[[str], str]:
    """A function that replaces every credential of ``backend`` in a text with ``***``."""
    secrets = [v for k, v in backend.env.items() if k != "PULUMI_BACKEND_URL" and v]

    def scrub(text: str) -> str:
        for value in secrets:
            text = text.replace(value, "***")
        return text

    return scrub


def _names_stack(name: str, project: str, stack: str) -> bool:
    """``stack``, ``project/stack`` or ``org/project/stack`` (the CLI shortens some names)."""
    parts = name.split("/")
    return parts[-1] == stack and (len(parts) == 1 or parts[-2] == project)


if TYPE_CHECKING:
    from orchestra_ops.ports.stack_state import StateMigrator

    def _implements_the_port(migrator: PulumiStateMigrator) -> StateMigrator:
        return migrator
