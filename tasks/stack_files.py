"""The stack file, ``Pulumi.<stack>.yaml``: the backend's config read and checked before
anything runs, and the file as it was, put back when a run changes nothing after all (a
dry run, a refused approval).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from orchestra_ops.adapters.files import write_atomically
from orchestra_ops.domain.stack_config import BACKEND_PROJECT, CONFIG_KEYS_BACKEND, BackendConfig
from orchestra_ops.domain.stack_config import backend_config as parse_backend_config
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError
from tasks.policy import local_task
from tasks.run_names import named


def stack_file(project_dir: Path, stack: str) -> Path:
    """Where the stack's settings are, next to the project file."""
    return project_dir / f"Pulumi.{stack}.yaml"


def stack_file_text(project_dir: Path, stack: str) -> str | None:
    """The stack file as it is now, line endings kept; None when there is none yet."""
    path = stack_file(project_dir, stack)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}", source=str(path)) from error


def restore_stack_file(project_dir: Path, stack: str, text: str | None) -> None:
    """Put the stack file back as :func:`stack_file_text` found it (None: there was none)."""
    path = stack_file(project_dir, stack)
    if text is None:
        path.unlink(missing_ok=True)
    else:
        write_atomically(path, text)


@named("load_backend_config[{environment}]")
@local_task
def load_backend_config(
    backend_dir: Path, environment: str, overrides: Mapping[str, str]
) -> BackendConfig:
    """The backend stack's config file with ``overrides`` applied, validated."""
    path = stack_file(backend_dir, environment)
    text = stack_file_text(backend_dir, environment)
    if text is None:
        raise ConfigError(f"cannot read {path}: there is no such file", source=str(path))
    data = load_yaml(text, str(path), typ="safe") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping with a config: block", source=str(path))
    prefix = f"{BACKEND_PROJECT}:"
    raw: dict[str, str | None] = {
        key.removeprefix(prefix): value if isinstance(value, str) else json.dumps(value)
        for key, value in (data.get("config") or {}).items()
        if key.startswith(prefix) and key.removeprefix(prefix) in CONFIG_KEYS_BACKEND
    }
    raw.update(overrides)
    return parse_backend_config(raw, environment)
