"""The target repository's Pulumi projects as the infrastructure workflow sees them (pure).

Found the way the reorganisation finds them (:func:`~orchestra_ops.domain.reorg.discover.discover`
over a snapshot of the repository's files), with what CI needs to know: whether a Python
project's ``requirements.txt`` carries hashes, whether a Node.js project has a
``package-lock.json``. They come in dependency order: a project whose code holds a
``StackReference`` to ``<org>/<project>/<stack>`` comes after that project; otherwise by
path.
"""

from __future__ import annotations

from orchestra_ops.domain.infrastructure_workflow import PulumiProject
from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.model import Snapshot, is_under, join
from orchestra_ops.domain.security.locked_tools import LockError, parse_lock


def _hashed(text: str | None) -> bool | None:
    if text is None:
        return None
    try:
        return bool(parse_lock(text))
    except LockError:
        return False


def _referenced_name(target: str) -> str | None:
    """The project of a StackReference target ``org/project/stack`` (f-string parts kept)."""
    parts = target.split("/")
    return parts[-2] if len(parts) == 3 else None


def pulumi_projects(snapshot: Snapshot) -> list[PulumiProject]:
    """Every Pulumi project of ``snapshot`` (path -> text), in dependency order."""
    discovery = discover(snapshot)
    found = {
        p.name: PulumiProject(
            directory=p.directory or ".",
            name=p.name,
            runtime=p.runtime,
            requirements_hashed=_hashed(snapshot.get(join(p.directory, "requirements.txt"))),
            npm_lock=join(p.directory, "package-lock.json") in snapshot,
        )
        for p in discovery.projects
    }
    owners = sorted(discovery.projects, key=lambda p: len(p.directory), reverse=True)
    needs: dict[str, set[str]] = {name: set() for name in found}
    for ref in discovery.stack_refs:
        owner = next((p for p in owners if is_under(ref.path, p.directory)), None)
        target = _referenced_name(ref.target)
        if owner is not None and target in found and target != owner.name:
            needs[owner.name].add(target)
    ordered: list[PulumiProject] = []
    waiting = sorted(found.values(), key=lambda p: p.directory)
    while waiting:
        done = {p.name for p in ordered}
        ready = [p for p in waiting if needs[p.name] <= done] or waiting[:1]  # a cycle: by path
        ordered.append(ready[0])
        waiting.remove(ready[0])
    return ordered
