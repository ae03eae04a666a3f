"""``ProgramUnderMocksEngine``: a StackEngine test double that keeps flow tests fast.

It is not Pulumi, and nothing outside tests/ uses it: the product, the demo and the
benchmarks run the Pulumi CLI, and so do the tests of the engine's own paths. It runs
the project's real program (``orchestra_ops.adapters.pulumi.programs``) under pulumi's
mocks, and where the engine would call a dynamic provider it calls the same provider
object (deserialized from the resource's ``__provider`` input, as Pulumi's provider host
does) against whatever Lambda API the settings point at: the sandbox emulator in tests.
Resources are created, diffed (``check`` then ``diff``), updated, replaced (delete first)
and deleted as the engine would, one at a time. State, outputs and stack config live in JSON files
under ``<state_dir>/engine-double``; secrets are not encrypted, so
``set_config(secret=True)`` is refused.

Select it with ``ORCHESTRA_STACK_ENGINE=tests.doubles.program_engine:ProgramUnderMocksEngine``.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextvars
import json
import shutil
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dill
import pulumi
import yaml
from pulumi.dynamic import ResourceProvider
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, set_all_config, set_mocks

from orchestra_ops.adapters.files import write_atomically
from orchestra_ops.adapters.pulumi.programs import backend, shared
from orchestra_ops.domain.pending_ops import StackState
from orchestra_ops.errors import StackError, StackNotFound
from orchestra_ops.ports.stack_engine import (
    ChangeSummary,
    Checkpoint,
    OnEvent,
    StackEvent,
    StackOutput,
    StackRef,
)
from orchestra_ops.settings import Settings

PROJECTS = Path(__file__).resolve().parents[2] / "infrastructure" / "pulumi"
PROJECT_DIRS = ("shared", "backend")


def copy_projects(into: Path) -> Path:
    """A copy of the shared and backend projects (the engine writes stack config next to them)."""
    for project in PROJECT_DIRS:
        shutil.copytree(PROJECTS / project, into / project)
    return into


PROGRAMS: dict[str, Callable[[], dict[str, Any]]] = {
    "orchestra-shared": shared.program,
    "orchestra-backend": backend.program,
}
_PULUMI_RUNTIME = threading.Lock()  # pulumi's mock runtime is process-global
Resources = dict[str, dict[str, Any]]  # "type::name" -> {"id", "type", "outputs"}


class ProgramUnderMocksEngine:
    """Runs programs under mocks and applies dynamic-provider CRUD for real (see module)."""

    def __init__(self, settings: Settings, state_dir: Path) -> None:
        del settings  # providers read their own credentials, as under the real engine
        self._root = state_dir / "engine-double"  # made with the first stack
        self.ups = 0

    def __repr__(self) -> str:
        return f"ProgramUnderMocksEngine({self._root})"

    # --- the port --------------------------------------------------------------------------

    def select_or_create(self, project_dir: Path, stack: str) -> StackRef:
        """Select the stack; its state file is created on first use."""
        meta = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
        if meta["name"] not in PROGRAMS:
            raise StackError(f"the test double knows no program for project {meta['name']!r}")
        ref = StackRef(project_dir.resolve(), stack)
        if not self._path(ref).exists():
            self._save(ref, {"project": meta["name"], "resources": {}, "outputs": {}})
        return ref

    def select(self, project_dir: Path, stack: str) -> StackRef:
        """Select the stack when its state file exists; StackNotFound when not."""
        ref = StackRef(project_dir.resolve(), stack)
        if not self._path(ref).exists():
            raise StackNotFound(f"{ref.label}: the test double holds no such stack")
        return ref

    def set_config(self, ref: StackRef, values: Mapping[str, str], *, secret: bool = False) -> None:
        """Write the values into ``Pulumi.<stack>.yaml`` as the CLI does."""
        if secret:
            raise StackError("the test double does not encrypt secrets")
        path = ref.project_dir / f"Pulumi.{ref.stack}.yaml"
        data = yaml.safe_load(path.read_text()) if path.exists() else None
        data = data or {}
        data.setdefault("config", {}).update(values)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    def refresh(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Read every resource back; gone ones leave the state."""
        state = self._load(ref)
        counts = {"same": 0, "delete": 0}
        for urn, resource in list(state["resources"].items()):
            found = _provider(resource["outputs"]).read(resource["id"], resource["outputs"])
            if found.id is None:
                del state["resources"][urn]
                counts["delete"] += 1
                _emit(on_event, "resource-done", "delete", urn)
            else:
                resource["outputs"] = {**resource["outputs"], **(found.outs or {})}
                counts["same"] += 1
        self._save(ref, state)
        return ChangeSummary(counts)

    def preview(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """What ``up`` would do, with no provider call that changes anything."""
        return self._run(ref, on_event, apply=False)[0]

    def up(self, ref: StackRef, on_event: OnEvent | None = None) -> Mapping[str, StackOutput]:
        """Apply the program; the outputs."""
        self.ups += 1
        self._run(ref, on_event, apply=True)
        return self.outputs(ref)

    def outputs(self, ref: StackRef) -> Mapping[str, StackOutput]:
        """The outputs of the last ``up``."""
        outputs = self._load(ref)["outputs"].items()
        return {k: StackOutput(v["value"], v["secret"]) for k, v in outputs}

    def export(self, ref: StackRef) -> Checkpoint:
        """The state as checkpoint JSON."""
        return Checkpoint(json.dumps({"version": 3, "deployment": self._load(ref)}))

    def state(self, ref: StackRef) -> StackState:
        """The resources held (an update of the double never leaves one pending)."""
        resources = self._load(ref)["resources"]
        return StackState(tuple({"urn": urn, **r} for urn, r in resources.items()), ())

    def remove(self, ref: StackRef) -> None:
        """Delete the stack's state (not its stack file); StackError while it holds resources."""
        if self._load(ref)["resources"]:
            raise StackError(f"{ref.label} still has resources; it is not removed")
        self._path(ref).unlink()

    def import_(self, ref: StackRef, checkpoint: Checkpoint) -> None:
        """Replace the state with the checkpoint's."""
        self._save(ref, json.loads(checkpoint)["deployment"])

    def destroy(self, ref: StackRef, on_event: OnEvent | None = None) -> ChangeSummary:
        """Delete every resource, newest first."""
        state = self._load(ref)
        deleted = len(state["resources"])
        for urn in reversed(list(state["resources"])):
            resource = state["resources"].pop(urn)
            _emit(on_event, "resource-pre", "delete", urn)
            _provider(resource["outputs"]).delete(resource["id"], resource["outputs"])
            self._save(ref, state)
        state["outputs"] = {}
        self._save(ref, state)
        return ChangeSummary({"delete": deleted})

    def cancel(self, ref: StackRef) -> None:
        """Nothing runs in the background here."""

    # --- running a program -----------------------------------------------------------------

    def _run(
        self, ref: StackRef, on_event: OnEvent | None, *, apply: bool
    ) -> tuple[ChangeSummary, dict[str, Any]]:
        state = self._load(ref)
        mocks = _ApplyingMocks(state["resources"], self._stack_outputs, apply, on_event)
        outputs: dict[str, Any] = {}
        with _PULUMI_RUNTIME:
            try:
                _in_own_event_loop(
                    lambda: self._evaluate(mocks, ref, state["project"], outputs, apply)
                )
            except BaseException:
                if apply:  # like the engine: what was done so far is recorded
                    state["resources"] = {**mocks.untouched(), **mocks.resources}
                    self._save(ref, state)
                raise
        if apply:
            state["resources"] = mocks.resources
            state["outputs"] = outputs
            self._save(ref, state)
        return ChangeSummary(mocks.counts), outputs

    def _evaluate(
        self,
        mocks: _ApplyingMocks,
        ref: StackRef,
        project: str,
        outputs: dict[str, Any],
        apply: bool,
    ) -> None:
        set_mocks(mocks, project=project, stack=ref.stack, preview=not apply)
        set_all_config(self._config(ref, project))
        try:
            _evaluate(PROGRAMS[project], outputs)
            mocks.delete_unseen()
        finally:
            set_all_config({})

    def _config(self, ref: StackRef, project: str) -> dict[str, str]:
        path = ref.project_dir / f"Pulumi.{ref.stack}.yaml"
        data = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
        raw = data.get("config") or {}
        if any(isinstance(v, dict) and "secure" in v for v in raw.values()):
            raise StackError(f"{ref.label}: the test double cannot decrypt secure config")
        return {
            key if ":" in key else f"{project}:{key}": v if isinstance(v, str) else json.dumps(v)
            for key, v in raw.items()
        }

    def _stack_outputs(self, qualified: str) -> dict[str, Any]:
        """Outputs of ``org/project/stack`` for a StackReference."""
        _org, project, stack = qualified.split("/")
        for path in self._root.glob(f"*--{stack}.json"):
            data = json.loads(path.read_text())
            if data["project"] == project:
                return {k: v["value"] for k, v in data["outputs"].items()}
        raise StackNotFound(f"StackReference {qualified}: no such stack in the test double")

    def _path(self, ref: StackRef) -> Path:
        return self._root / f"{ref.project_dir.name}--{ref.stack}.json"

    def _load(self, ref: StackRef) -> dict[str, Any]:
        path = self._path(ref)
        if not path.exists():
            raise StackNotFound(f"{ref.label} was not selected; call select_or_create first")
        return dict(json.loads(path.read_text()))

    def _save(self, ref: StackRef, state: Mapping[str, Any]) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path(ref), json.dumps(state, indent=1, sort_keys=True))


def _in_own_event_loop(work: Callable[[], None]) -> None:
    """Run ``work`` on a fresh thread with its own event loop (callers may hold one)."""

    helper_loops: list[asyncio.AbstractEventLoop] = []

    def give_thread_a_loop() -> None:
        # pulumi's runtime asks for a loop in its executor threads; we close them after.
        helper_loops.append(asyncio.new_event_loop())
        asyncio.set_event_loop(helper_loops[-1])

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        helpers = concurrent.futures.ThreadPoolExecutor(4, initializer=give_thread_a_loop)
        loop.set_default_executor(helpers)
        try:
            work()
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            helpers.shutdown(wait=True)
            for helper_loop in helper_loops:
                helper_loop.close()

    context = contextvars.copy_context()  # Prefect's run context, for the engine's logs
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="engine-double") as pool:
        pool.submit(context.run, run).result()


def _evaluate(program: Callable[[], dict[str, Any]], into: dict[str, Any]) -> None:
    """Run the program and wait for every output (pulumi's own test runner does the loop)."""

    @pulumi.runtime.test  # type: ignore[misc]
    def run() -> Any:
        exported = program()

        async def collect() -> None:
            for name, value in exported.items():
                output = pulumi.Output.from_input(value)
                into[name] = {"value": await output.future(), "secret": await output.is_secret()}

        return asyncio.ensure_future(collect())

    run()


def _provider(props: Mapping[str, Any]) -> ResourceProvider:
    serialized = props["__provider"]
    if isinstance(serialized, Mapping):  # a secret, as pulumi marks the serialized provider
        serialized = serialized["value"]
    # Our own provider, pickled by pulumi in this same test run: trusted input.
    provider = dill.loads(base64.b64decode(serialized))  # noqa: S301
    assert isinstance(provider, ResourceProvider)
    return provider


def _emit(on_event: OnEvent | None, kind: str, op: str, urn: str) -> None:
    if on_event is not None:
        on_event(StackEvent(kind, f"{op} {urn}", urn=urn, op=op))


class _ApplyingMocks(Mocks):  # type: ignore[misc]
    """Answers each registration from state, or by calling the resource's provider."""

    def __init__(
        self,
        prior: Resources,
        stack_outputs: Callable[[str], dict[str, Any]],
        apply: bool,
        on_event: OnEvent | None,
    ) -> None:
        self._prior = dict(prior)
        self._stack_outputs = stack_outputs
        self._apply = apply
        self._on_event = on_event
        self.resources: Resources = {}
        self.counts: dict[str, int] = {}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {**args.inputs, "outputs": self._stack_outputs(args.name)}
        urn = f"{args.typ}::{args.name}"
        old = self._prior.pop(urn, None)
        op, outputs, id_ = self._step(urn, old, dict(args.inputs))
        self.counts[op] = self.counts.get(op, 0) + 1
        if self._apply:
            self.resources[urn] = {"id": id_, "type": args.typ, "outputs": outputs}
        return id_, outputs

    def _step(
        self, urn: str, old: dict[str, Any] | None, news: dict[str, Any]
    ) -> tuple[str, dict[str, Any], str]:
        provider = _provider(news)
        checked = provider.check(old["outputs"] if old else {}, news)
        if checked.failures:
            problems = "; ".join(f"{f.property}: {f.reason}" for f in checked.failures)
            raise StackError(f"{urn}: inputs refused by the provider: {problems}")
        news = dict(checked.inputs or news)
        if old is None:
            return self._create(urn, news, "create")
        diff = provider.diff(old["id"], old["outputs"], news)
        if not diff.changes:
            return "same", old["outputs"], old["id"]
        if diff.replaces:
            if self._apply:
                _emit(self._on_event, "resource-pre", "delete", urn)
                provider.delete(old["id"], old["outputs"])
            return self._create(urn, news, "replace")
        if not self._apply:
            return "update", {**old["outputs"], **news}, old["id"]
        _emit(self._on_event, "resource-pre", "update", urn)
        updated = provider.update(old["id"], old["outputs"], news)
        return "update", {**old["outputs"], **(updated.outs or {})}, old["id"]

    def _create(self, urn: str, news: dict[str, Any], op: str) -> tuple[str, dict[str, Any], str]:
        if not self._apply:
            return op, news, f"preview-{urn}"
        _emit(self._on_event, "resource-pre", op, urn)
        created = _provider(news).create(news)
        _emit(self._on_event, "resource-done", op, urn)
        return op, {**news, **(created.outs or {})}, str(created.id)

    def untouched(self) -> Resources:
        """Prior resources not reached yet (still there)."""
        return dict(self._prior)

    def delete_unseen(self) -> None:
        """Resources the program no longer declares: deleted (counted only, in a preview)."""
        if not self._prior:
            return
        self.counts["delete"] = self.counts.get("delete", 0) + len(self._prior)
        if not self._apply:
            return

        def delete(urn: str) -> None:
            old = self._prior[urn]
            _emit(self._on_event, "resource-pre", "delete", urn)
            _provider(old["outputs"]).delete(old["id"], old["outputs"])
            del self._prior[urn]

        # Like the engine, independent deletes run side by side (programs here have no
        # dependencies between the resources one update removes).
        with concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="delete") as pool:
            for done in [pool.submit(delete, urn) for urn in reversed(list(self._prior))]:
                done.result()
