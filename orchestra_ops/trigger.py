"""`orchestra-ops trigger`: start a deployment's run, as an outside system would.

Built on Prefect's own client (``orchestra_ops/adapters/prefect_deployments.py``): read
the deployment by name, check the parameters against the deployment's own schema (the
check the server makes, said field by field), create the run with an optional
idempotency key (a retried request returns the run the first one made), and with
``--wait`` follow it to its final state. Everything here is plain functions over the
small ``DeploymentClient`` seam, so it is tested without a server.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

from orchestra_ops.errors import InvalidRequest

#: What each exit code means (shown in the command's help and the README).
EXIT_CODES = """Exit codes:

- 0 run created (with --wait: Completed);
- 1 the run ended in another final state (Failed, Crashed, Cancelled);
- 2 bad input, or parameters the deployment's schema refuses (no run was created);
- 3 no server to ask: PREFECT_API_URL unset, server unreachable, unknown deployment;
- 4 --wait timed out (the run goes on);
- 5 the deployment's concurrency limit cancelled the run (another run holds the slot)."""

_FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
_LIMIT_MESSAGE = "concurrency limit"  # Prefect: "Deployment concurrency limit reached."
_HELD = "AwaitingConcurrencySlot"  # Prefect's name for a run an ENQUEUE limit holds back
_SAME_RUN_S = 5.0  # a run created this long before the request was already there


class Exit(IntEnum):
    """The command's exit codes (see ``EXIT_CODES``)."""

    DONE = 0
    NOT_COMPLETED = 1
    REFUSED = 2
    NO_SERVER = 3
    TIMED_OUT = 4
    LIMITED = 5


@dataclass(frozen=True)
class Deployment:
    """What the trigger needs to know about a deployment."""

    id: str
    name: str
    parameter_schema: dict[str, Any]
    enforces_schema: bool
    defaults: dict[str, Any]
    concurrency_limit: int | None = None
    collision_strategy: str | None = None


@dataclass(frozen=True)
class RunState:
    """A flow run and its current state."""

    id: str
    name: str
    type: str  # SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED...
    state_name: str
    message: str | None = None
    created: dt.datetime | None = None
    parameters: dict[str, Any] | None = None  # as the server merged them with the defaults
    url: str | None = None  # the run's page in the Prefect UI, when the UI's URL is known

    @property
    def final(self) -> bool:
        """True once the run cannot change any more."""
        return self.type in _FINAL


class DeploymentClient(Protocol):
    """The server, as far as the trigger is concerned."""

    def deployment(self, name: str) -> Deployment:
        """The deployment ``flow/deployment`` (or a deployment name only one flow uses)."""
        ...

    def create_run(
        self, deployment: Deployment, parameters: dict[str, Any], idempotency_key: str | None
    ) -> RunState:
        """A new run, or the run ``idempotency_key`` already created."""
        ...

    def run(self, run_id: str) -> RunState:
        """The run as it is now."""
        ...


def read_parameters(text: str | None, file: Path | None) -> dict[str, Any]:
    """The run's parameters from ``--params`` or ``--params-file`` (neither: none)."""
    if text is not None and file is not None:
        raise InvalidRequest("give --params or --params-file, not both")
    where = "--params"
    if file is not None:
        where = f"--params-file {file}"
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidRequest(f"{where}: cannot read it ({error.strerror})") from error
        except UnicodeDecodeError as error:
            raise InvalidRequest(f"{where}: not UTF-8 text (byte {error.start})") from error
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"{where}: not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from error
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}: must be a JSON object of parameters, like {{}}")
    return value


def schema_problems(deployment: Deployment, parameters: dict[str, Any]) -> list[str]:
    """What the server would refuse in ``parameters``, one line per field at fault.

    The server validates the deployment's defaults updated with the request against the
    deployment's schema (Prefect's own validator, used here too) and names one field; this
    names every field and says what it expects.
    """
    if not deployment.enforces_schema or not deployment.parameter_schema:
        return []
    from prefect.utilities.schema_tools.validation import validate

    merged = {**deployment.defaults, **parameters}
    errors = validate(merged, deployment.parameter_schema, raise_on_error=False)
    return sorted({line for error in errors for line in _explain(error)})


def _explain(error: Any) -> Iterator[str]:
    """One jsonschema error as lines a person can act on."""
    where = _path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(schema.get("properties", {}))
        for extra in sorted(set(error.instance) - set(known)):
            field = f"{where}.{extra}" if where else extra
            yield f"{field}: unknown field (known: {', '.join(known) or 'none'})"
        return
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches = [e for e in error.context if e.schema.get("type") != "null"] or error.context
        from jsonschema.exceptions import best_match

        best = best_match(branches)
        suffix = " (or empty)" if len(branches) < len(error.context) else ""
        yield f"{_path(best.absolute_path) or where}: {best.message}{suffix}"
        return
    if error.validator == "type" and schema.get("type") == "null":
        why = schema.get("description")
        yield f"{where}: must be left empty" + (f" ({why})" if why else "")
        return
    yield f"{where or 'parameters'}: {error.message}"


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def start_run(
    client: DeploymentClient, name: str, parameters: dict[str, Any], key: str | None
) -> tuple[Deployment, RunState]:
    """Check the parameters against the deployment's schema, then create the run."""
    deployment = client.deployment(name)
    problems = schema_problems(deployment, parameters)
    if problems:
        raise InvalidRequest(f"{deployment.name} refuses these parameters: " + "; ".join(problems))
    run = client.create_run(deployment, parameters, key)
    asked = {**deployment.defaults, **parameters}
    if key and run.parameters is not None and run.parameters != asked:
        raise InvalidRequest(
            f"key {key!r} already started run {run.name} ({run.id}) of {deployment.name} with "
            "other parameters; no new run was made (a new request needs a new key)"
        )
    return deployment, run


def follow(
    client: DeploymentClient,
    run: RunState,
    timeout_s: float,
    echo: Callable[[str], None],
    *,
    poll_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RunState:
    """Poll the run until it is final or ``timeout_s`` passed; echo each state it moves to.

    The state the run had when it was created was said already, and the final one is the
    caller's to say (``verdict``).
    """
    deadline, seen = clock() + timeout_s, run.state_name
    while True:
        if run.state_name != seen and not run.final:
            seen = run.state_name
            held = " (held: the deployment's concurrency slot is taken)" if seen == _HELD else ""
            echo(f"{run.name}: {seen}{held}")
        left = deadline - clock()
        if run.final or left <= 0:
            return run
        sleep(min(poll_s, left))
        run = client.run(run.id)


def verdict(deployment: Deployment, run: RunState, timeout_s: float) -> tuple[Exit, str]:
    """The exit code and last line for a followed run."""
    if run.type == "COMPLETED":
        return Exit.DONE, f"{run.name}: Completed"
    if run.type == "CANCELLED" and _LIMIT_MESSAGE in (run.message or "").lower():
        limit = deployment.concurrency_limit or 1
        return Exit.LIMITED, (
            f"{run.name}: cancelled by the concurrency limit of {deployment.name} "
            f"({limit} run(s) at a time, {deployment.collision_strategy or 'CANCEL_NEW'}): "
            "another run holds the slot; trigger again when it has finished"
        )
    if run.final:
        return Exit.NOT_COMPLETED, f"{run.name}: {run.state_name}: {run.message or 'no message'}"
    return Exit.TIMED_OUT, (
        f"{run.name}: still {run.state_name} after {timeout_s:g} s; the run goes on "
        f"(prefect flow-run inspect {run.id})"
    )


def created_line(deployment: Deployment, run: RunState, key: str | None, asked: dt.datetime) -> str:
    """What was created, and whether ``key`` had already created it."""
    line = f"run {run.name} ({run.id}) of {deployment.name}: {run.state_name}"
    if key and run.created and run.created < asked - dt.timedelta(seconds=_SAME_RUN_S):
        line += f"; key {key!r} had already started it at {run.created.isoformat()}, no new run"
    return f"{line}; in the UI: {run.url}" if run.url else line
