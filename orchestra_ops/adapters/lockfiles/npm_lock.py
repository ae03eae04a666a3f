"""A package-lock.json (lockfileVersion 3) written from exact pins, for ``npm audit``.

npm audit reads only npm's own lockfile; the pins of a pnpm, yarn or bun lock are
written into one so the real tool audits them against the real (or sandbox) registry.
One version of a name sits at ``node_modules/<name>``; each further version of the same
name is nested under a holder whose name npm cannot publish (a leading ``_``), so no
advisory can ever match the holder itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from orchestra_ops.domain.security.manifests import LockedPackage

ROOT_NAME = "orchestra-ops-audit"


def package_lock_v3(packages: Iterable[LockedPackage]) -> tuple[str, dict[str, LockedPackage]]:
    """(lockfile text, node path -> the pin it stands for)."""
    nodes: dict[str, LockedPackage] = {}
    placed: dict[str, int] = {}
    for package in sorted(packages, key=lambda p: (p.name, p.version)):
        count = placed.get(package.name, 0)
        placed[package.name] = count + 1
        if count == 0:
            nodes[f"node_modules/{package.name}"] = package
        else:
            nodes[f"node_modules/_dup{count}/node_modules/{package.name}"] = package
    entries: dict[str, dict[str, object]] = {"": {"name": ROOT_NAME, "version": "0.0.0"}}
    for holder in sorted({p.split("/node_modules/")[0] for p in nodes if "/_dup" in p}):
        entries[holder] = {"version": "0.0.0"}
    entries.update({path: {"version": pin.version} for path, pin in nodes.items()})
    lock = {
        "name": ROOT_NAME,
        "version": "0.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": entries,
    }
    return json.dumps(lock, indent=2) + "\n", nodes


def package_json() -> str:
    """The package.json that goes next to the generated lock."""
    return json.dumps({"name": ROOT_NAME, "version": "0.0.0", "private": True}) + "\n"
