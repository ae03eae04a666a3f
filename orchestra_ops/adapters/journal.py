"""The durable journal of a reorganisation: append-only JSON lines, fsynced one by one.

Each mutating step writes an ``intent`` record before it acts and a ``done`` record
after, so a run killed at any point can be rolled back or resumed from the file
alone: the ``begin`` record carries the whole plan, an intent of a rewrite carries the
file's original bytes. A torn last line (a kill in mid-write) is ignored on reading.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.files import append_line
from orchestra_ops.domain.reorg.model import (
    ManualCheck,
    MappingEntry,
    Move,
    Operation,
    Plan,
    ReorgMapping,
    Rewrite,
    StackRename,
)
from orchestra_ops.errors import ReorgError

Record = dict[str, Any]


class Journal:
    """One JSON-lines file; every append is flushed and fsynced before it returns.

    ``durable=False`` skips the fsyncs: a killed process loses nothing either way (the
    page cache survives it); only a power cut or kernel crash needs them. Tests that
    sweep kill positions by the hundred use it; production code keeps the default.
    """

    def __init__(self, path: Path, *, durable: bool = True) -> None:
        self.path = path
        self.durable = durable

    def append(self, record: Record) -> None:
        """Write one record durably (file and, the first time, its directory)."""
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        append_line(self.path, line, durable=self.durable)

    def read(self) -> list[Record]:
        """Every complete record in order; a torn final line is dropped."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                if number == len(lines):
                    break  # killed while writing this line: the step it announced never ran
                raise ReorgError(f"journal {self.path} is corrupt at line {number}") from error
        return records

    def current_run(self) -> list[Record]:
        """The records of the latest run: from its ``begin`` on (empty if none)."""
        records = self.read()
        starts = [i for i, r in enumerate(records) if r["event"] == "begin"]
        return records[starts[-1] :] if starts else []


@dataclass(frozen=True)
class RunState:
    """What a run's records say: its plan, where it started, which steps began and ended."""

    begin: Record
    plan: Plan
    intents: frozenset[str]
    done: frozenset[str]
    finished: str | None  # "complete", "rolled-back" or None while open

    @property
    def open_steps(self) -> frozenset[str]:
        """Steps announced but not confirmed: each may or may not have taken effect."""
        return self.intents - self.done


def run_state(records: list[Record]) -> RunState | None:
    """Read a run's records back (None when there is no run)."""
    if not records:
        return None
    ends = [r["event"] for r in records if r["event"] in ("complete", "rolled-back")]
    return RunState(
        begin=records[0],
        plan=decode_plan(records[0]["plan"]),
        intents=frozenset(r["step"] for r in records if r["event"] == "intent"),
        done=frozenset(r["step"] for r in records if r["event"] == "done"),
        finished=ends[-1] if ends else None,
    )


def encode_bytes(data: bytes) -> str:
    """Bytes as base64 text for a JSON record."""
    return base64.b64encode(data).decode("ascii")


def decode_bytes(text: str) -> bytes:
    """The inverse of ``encode_bytes``."""
    return base64.b64decode(text.encode("ascii"))


def encode_plan(plan: Plan) -> Record:
    """A plan as plain JSON data (everything resume and rollback need)."""
    mapping = plan.mapping
    return {
        "mapping": {
            "org": mapping.org,
            "branch": mapping.branch,
            "source": mapping.source,
            "entries": [vars(e) for e in mapping.entries],
        },
        "operations": [vars(op) for op in plan.operations],
        "renames": [vars(r) for r in plan.renames],
        "notes": list(plan.notes),
        "manual": [vars(check) for check in plan.manual],
        "refused": list(plan.refused),
    }


def decode_plan(data: Record) -> Plan:
    """The inverse of ``encode_plan``."""
    raw = data["mapping"]
    mapping = ReorgMapping(
        raw["org"], raw["branch"], tuple(MappingEntry(**e) for e in raw["entries"]), raw["source"]
    )
    operations: list[Operation] = [
        Move(**op) if op["kind"] == "move" else Rewrite(**op) for op in data["operations"]
    ]
    renames = tuple(StackRename(**r) for r in data["renames"])
    manual = tuple(ManualCheck(**check) for check in data.get("manual", ()))  # older journals
    refused = tuple(data.get("refused", ()))
    return Plan(mapping, tuple(operations), renames, tuple(data["notes"]), manual, refused)


def plan_id(plan: Plan) -> str:
    """A stable id of a plan: the SHA-256 of its canonical JSON."""
    canonical = json.dumps(encode_plan(plan), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def prune_empty_dirs(directory: Path, stop: Path) -> None:
    """Remove ``directory`` and its parents while they are empty, never ``stop`` itself."""
    while directory != stop and directory.is_relative_to(stop) and directory.is_dir():
        if any(directory.iterdir()):
            return
        directory.rmdir()
        directory = directory.parent
