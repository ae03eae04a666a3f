"""Plan and write the generated dependency-update files of a target repository.

:func:`plan_config_files` reads what is there, generates the new files from discovery,
validates each against its published schema and returns the diffs, so a person (or the
Prefect artifact) sees every change before :func:`write_config_files` writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from orchestra_ops.adapters.scanners.discover import discover
from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.security.scan import ManifestKind
from orchestra_ops.domain.security.update_config import (
    GENERATED_HEADER,
    config_diff,
    dependabot_config,
    renovate_config,
    to_json,
    to_yaml,
    update_directories,
)
from orchestra_ops.domain.security.workflow import security_audit_workflow
from orchestra_ops.errors import ConfigError


@dataclass(frozen=True)
class ConfigChange:
    """One generated file: what is there now, what would be written, and the diff."""

    path: str
    kind: str
    existing: str | None
    generated: str

    @property
    def diff(self) -> str:
        """The unified diff (empty when the file is already up to date)."""
        return config_diff(self.existing, self.generated, self.path)

    @property
    def changed(self) -> bool:
        """True when writing would change the file."""
        return self.existing != self.generated


def _read(repo: Path, path: str) -> str | None:
    target = repo / path
    return target.read_text(encoding="utf-8") if target.is_file() else None


def plan_config_files(repo: Path) -> list[ConfigChange]:
    """The three generated files for ``repo``; ConfigError if one fails its schema."""
    manifests, unsupported = discover(repo)
    python_dirs, npm_dirs = update_directories(manifests, unsupported)
    requirements = [m.path for m in manifests if m.kind is ManifestKind.REQUIREMENTS]
    npm_projects = [d.lstrip("/") or "." for d in npm_dirs]
    generated = {
        ".github/dependabot.yml": (
            "dependabot",
            to_yaml(dependabot_config(python_dirs or ["/"], npm_dirs), GENERATED_HEADER),
        ),
        "renovate.json": ("renovate", to_json(renovate_config())),
        ".github/workflows/security-audit.yml": (
            "github-workflows",
            security_audit_workflow(requirements, npm_projects),
        ),
    }
    changes = []
    for path, (kind, text) in generated.items():
        problems = validate_config(kind, YAML(typ="safe").load(text))
        if problems:
            raise ConfigError(f"generated {path} fails the {kind} schema: {'; '.join(problems)}")
        changes.append(ConfigChange(path, kind, _read(repo, path), text))
    return changes


def write_config_files(repo: Path, changes: list[ConfigChange]) -> list[str]:
    """Write the changed files; returns their paths."""
    written = []
    for change in changes:
        if change.changed:
            target = repo / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(change.generated, encoding="utf-8")
            written.append(change.path)
    return written
