"""A package-lock.json (lockfileVersion 3) written from exact pins, for ``npm audit``.

npm audit reads only npm's own lockfile; the pins of a pnpm, yarn or bun lock are
written into one so the real tool audits them against the real (or sandbox) registry.
The first version of a name sits at ``node_modules/<name>``; each further version of the
same name is nested one level deeper under the previous one
(``node_modules/<name>/node_modules/<name>``), so no invented package name is ever sent
to the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from orchestra_ops.domain.security.manifests import LockedPackage

ROOT_NAME = "orchestra-ops-audit"


def package_lock_v3(packages: Iterable[LockedPackage]) -> tuple[str, dict[str, LockedPackage]]:
    """(lockfile text, node path -> the pin it stands for)."""
    nodes: dict[str, LockedPackage] = {}
    depth: dict[str, int] = {}
    for package in sorted(packages, key=lambda p: (p.name, p.version)):
        level = depth.get(package.name, 0) + 1
        depth[package.name] = level
        nodes["/".join([f"node_modules/{package.name}"] * level)] = package
    entries: dict[str, dict[str, object]] = {"": {"name": ROOT_NAME, "version": "0.0.0"}}
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
