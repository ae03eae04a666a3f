"""Stack-state migration over the ``pulumi`` CLI, run through the Automation API's PulumiCommand.

Same CLI, backend and environment as the engine (``find_cli``, ``choose_backend``): Pulumi
Cloud with a token, else PULUMI_BACKEND_URL, else the local file backend. Stacks are named
fully qualified, ``org/project/stack``; the file (diy) backends know a single organisation,
``organization``, so ``org`` only counts on Pulumi Cloud. Checkpoints are exported without
``--show-secrets`` (secrets stay encrypted) into 0600 files. CLI failures become the
StackError subtree through the engine's ``translated``, with credentials scrubbed.

The no-change preview runs the program of the project directory. One of ours runs inline,
as the engine runs it. Any other program (a legacy one moved by the reorganisation) runs
through ``pulumi preview``, which needs what that program needs: the language host of its
runtime (``pulumi-language-python``, ``-nodejs``...; ``make pulumi`` builds none), its
dependencies, its provider plugins and its decryptable config. A missing language host is
a StackUnavailable saying so, and the migration restores the stack.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi.automation as auto

from orchestra_ops.adapters.pulumi.backend import choose_backend
from orchestra_ops.adapters.pulumi.cli import (
    PulumiCli,
    find_cli,
    missing_cli,
    pulumi_command,
    tool_env,
)
from orchestra_ops.adapters.pulumi.cli_output import scrubber, translated
from orchestra_ops.adapters.pulumi.engine import INLINE_PROGRAMS, PulumiEngine
from orchestra_ops.adapters.pulumi.programs import our_program
from orchestra_ops.domain.stack_config import DEFAULT_ORG
from orchestra_ops.errors import ConfigError, StackError, StackUnavailable
from orchestra_ops.ports.stack_engine import StackRef
from orchestra_ops.settings import PulumiSettings

_NO_LANGUAGE_HOST = "no language plugin"


class PulumiStateMigrator:
    """Implements :class:`~orchestra_ops.ports.stack_state.StateMigrator` with the CLI."""

    def __init__(
        self,
        settings: PulumiSettings,
        state_dir: Path,
        *,
        org: str,
        cli: PulumiCli | None = None,
        provider_env: Mapping[str, str] | None = None,
    ) -> None:
        """``provider_env`` goes to the engine that previews our programs (see PulumiEngine)."""
        found = cli or find_cli()
        if found is None:
            raise missing_cli(
                "stack state cannot be migrated, so the reorganisation ends in "
                "'state migration pending' with the commands to run by hand"
            )
        self._settings, self._state_dir, self._cli = settings, state_dir, found
        self._provider_env = dict(provider_env or {})
        self._backend = choose_backend(settings, state_dir)
        self._env = {**tool_env(found), **self._backend.env}
        self._cloud = "PULUMI_ACCESS_TOKEN" in self._backend.env
        self._org = org if self._cloud else DEFAULT_ORG
        # Commands that need no project run here: a directory without a Pulumi.yaml.
        self._neutral_dir = state_dir / "pulumi"
        self._scrub = scrubber(self._backend)

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
        """A preview expecting no changes of the program in ``project_dir``; StackError else.

        Our programs run inline (no language host); any other through ``pulumi preview``.
        """
        qualified = self.qualified(project, stack)
        try:
            our_program(Path(project_dir))
        except ConfigError:
            self._preview_their_program(project, stack, project_dir)
            return
        engine = PulumiEngine(
            self._settings, self._state_dir, cli=self._cli, provider_env=self._provider_env
        )
        with translated(
            "no-change preview",
            StackRef(Path(project), stack),
            self._scrub,
            self._backend.wrong_key_hint,
        ):
            selected = engine.open_stack(Path(project_dir), qualified, create=False)
            with INLINE_PROGRAMS:
                selected.preview(expect_no_changes=True)

    def _preview_their_program(self, project: str, stack: str, project_dir: str) -> None:
        args = ["preview", "--expect-no-changes", "--stack", self.qualified(project, stack)]
        try:
            self._run("no-change preview", project, stack, args, project_dir)
        except StackError as error:
            if _NO_LANGUAGE_HOST not in str(error):
                raise
            raise StackUnavailable(
                f"no-change preview of {project}/{stack}: the program in {project_dir} is not "
                "one of ours, and this Pulumi CLI has no language host for its runtime, so it "
                "cannot run (`make pulumi` builds only the CLI). Install the full CLI "
                f"distribution (with pulumi-language-*) and the program's dependencies. {error}"
            ) from error

    def _run(
        self, what: str, project: str, stack: str, args: list[str], cwd: str | None = None
    ) -> auto.CommandResult:
        # ``translated`` reads only the ref's label, which is ``project/stack`` here.
        ref = StackRef(Path(project), stack)
        if cwd is None:
            self._neutral_dir.mkdir(parents=True, exist_ok=True)
        with translated(what, ref, self._scrub, self._backend.wrong_key_hint):
            return self._pulumi().run(args, cwd or str(self._neutral_dir), dict(self._env))

    def _pulumi(self) -> auto.PulumiCommand:
        return pulumi_command(self._cli.executable)


def _names_stack(name: str, project: str, stack: str) -> bool:
    """``stack``, ``project/stack`` or ``org/project/stack`` (the CLI shortens some names)."""
    parts = name.split("/")
    return parts[-1] == stack and (len(parts) == 1 or parts[-2] == project)


if TYPE_CHECKING:
    from orchestra_ops.ports.stack_state import StateMigrator

    def _implements_the_port(migrator: PulumiStateMigrator) -> StateMigrator:
        return migrator
