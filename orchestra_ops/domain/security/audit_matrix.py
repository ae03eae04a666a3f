"""Which manifests the generated security workflow's audit jobs can run on (pure).

The pip-audit job runs ``pip-audit -r FILE --no-deps --disable-pip``: with no resolver,
every requirement must be an exact ``==`` pin, in the file and in every file it
includes with ``-r``, or the job fails on every run. The npm audit job runs
``npm audit``, which reads only ``package-lock.json`` / ``npm-shrinkwrap.json``: a pnpm,
yarn or bun project has neither, so it would fail on every run too. Manifests that do
not fit are left out of the jobs and named, with why, in a comment of the workflow
(the weekly scan still audits them through its own inputs).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from orchestra_ops.domain.security.manifests import read_requirements
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported
from orchestra_ops.errors import ConfigError

_JS_LOCKS = {"pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"}


@dataclass
class AuditMatrix:
    """The requirements files and npm directories of the audit jobs, and what is left out."""

    requirements: list[str] = field(default_factory=list)
    npm_directories: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)


def _project(path: str) -> str:
    return PurePosixPath(path).parent.as_posix()


def unpinned_reason(
    path: str, texts: Mapping[str, str | None], seen: frozenset[str] = frozenset()
) -> str | None:
    """Why pip-audit ``--no-deps`` cannot read the requirements file ``path`` (None: it can).

    ``texts`` holds the repository's requirements files by path (None: unreadable).
    """
    text = texts.get(path)
    if text is None:
        return "not readable"
    try:
        file = read_requirements(text, path)
    except ConfigError:
        return "not requirements syntax pip-audit reads"
    if file.unreadable:
        return f"line {file.unreadable[0]} is not requirements syntax pip-audit reads"
    ranged = [p.name for p in file.pins if not p.exact]
    if ranged:
        shown = ", ".join(ranged[:3]) + (", ..." if len(ranged) > 3 else "")
        return f"not fully pinned ({shown}): pip-audit --no-deps needs every line `==`"
    if file.direct:
        return "has direct (URL, path or VCS) references pip-audit cannot look up"
    for reference in file.references:
        if reference.constraint:
            continue
        target = posixpath.normpath(posixpath.join(_project(path), reference.target))
        if target in seen:
            continue
        inner = unpinned_reason(target, texts, seen | {path})
        if inner is not None:
            return (
                f"includes {target}, which is {inner}"
                if inner != "not readable"
                else (f"includes {target}, which is not in the repository")
            )
    return None


def audit_matrix(
    manifests: Iterable[Manifest],
    unsupported: Iterable[Unsupported],
    texts: Mapping[str, str | None],
) -> AuditMatrix:
    """Split discovery's manifests into what the audit jobs read and what they cannot."""
    matrix = AuditMatrix()
    npm: set[str] = set()
    other_js: dict[str, str] = {}
    for manifest in manifests:
        if manifest.kind is ManifestKind.REQUIREMENTS:
            reason = unpinned_reason(manifest.path, texts)
            if reason is None:
                matrix.requirements.append(manifest.path)
            else:
                matrix.left_out.append((manifest.path, reason))
        elif manifest.kind is ManifestKind.NPM_LOCK:
            npm.add(_project(manifest.path))
        elif manifest.kind is ManifestKind.JS_LOCK:
            other_js[manifest.path] = "npm audit reads only package-lock.json/npm-shrinkwrap.json"
    for item in unsupported:
        if PurePosixPath(item.path).name in _JS_LOCKS:
            other_js[item.path] = "npm audit reads only package-lock.json/npm-shrinkwrap.json"
    matrix.left_out += [(p, why) for p, why in sorted(other_js.items()) if _project(p) not in npm]
    matrix.npm_directories = sorted(npm)
    return matrix
