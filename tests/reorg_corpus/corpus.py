"""Load a corpus repository: its files as a snapshot, its links, its mapping and expectation.

Each directory here is a small target repository written for these tests. ``expect.yaml``
beside its files (not part of the repository) says what a correct plan does; symlinks are
declared there (``links``: path -> repo-relative target, or null for outside the repo)
rather than committed, so no link in this repository leads outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from orchestra_ops.domain.reorg.mapping import parse_mapping
from orchestra_ops.domain.reorg.model import ReorgMapping

CORPUS = Path(__file__).resolve().parent
NOT_IN_REPO = {"expect.yaml"}


@dataclass(frozen=True)
class CorpusRepo:
    """One corpus repository as the planner sees it, with what a correct plan does."""

    name: str
    snapshot: dict[str, str]
    links: dict[str, str | None]
    mapping: ReorgMapping
    expect: dict[str, Any]


def names() -> list[str]:
    """Every corpus repository (a directory holding an expect.yaml)."""
    return sorted(p.parent.name for p in CORPUS.glob("*/expect.yaml"))


def load(name: str) -> CorpusRepo:
    """Read one corpus repository."""
    root = CORPUS / name
    snapshot = {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in NOT_IN_REPO
    }
    expect = YAML(typ="safe").load((root / "expect.yaml").read_text(encoding="utf-8"))
    links = dict(expect.get("links") or {})
    snapshot.update({link: "" for link in links})  # a link is tracked, never read
    mapping = parse_mapping(snapshot["reorg.yaml"], source=f"{name}/reorg.yaml")
    return CorpusRepo(name, snapshot, links, mapping, expect)
