"""What the CLI says, made ours: engine events as StackEvents, and its failures as the
StackError subtree, scrubbed of credentials and cut to what went wrong."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pulumi.automation as auto

from orchestra_ops.adapters.pulumi.backend import Backend
from orchestra_ops.domain.run_markdown import change_counts
from orchestra_ops.errors import (
    StackConflict,
    StackError,
    StackNotFound,
    StackUnavailable,
)
from orchestra_ops.ports.stack_engine import StackEvent, StackRef

#: How much of a CLI's output an error message keeps.
STDERR_TAIL = 600


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
def translated(
    what: str, ref: StackRef, scrub: Callable[[str], str], wrong_key_hint: str = ""
) -> Iterator[None]:
    """Automation errors as StackError types; stderr is trimmed and scrubbed of secrets.
    An "incorrect passphrase" gets ``wrong_key_hint`` (the backend's) added."""
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
        wrong_key = "incorrect passphrase" in text and wrong_key_hint
        hint = f" ({wrong_key_hint})" if wrong_key else ""
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
    """The last :data:`STDERR_TAIL` characters, from a word's start, marked as cut."""
    if len(text) <= STDERR_TAIL:
        return text
    cut = text[-STDERR_TAIL:]
    return "…" + (cut.split(" ", 1)[1] if " " in cut else cut)
