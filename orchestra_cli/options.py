"""What every command of `orchestra-ops` reads its settings with: ``--env-file``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestra_cli.prefect_env import check_prefect_env_file
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import Settings, load_settings

EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="A .env file read after the environment; default ./.env when there is one. "
        "A file named here must exist (`/dev/null` reads none).",
    ),
]


def settings_from(env_file: Path | None) -> Settings:
    """The settings, with ``env_file`` (or ./.env); a bad file exits 2, saying why."""
    try:
        if env_file is not None and (env_file.is_dir() or not env_file.exists()):
            what = "a directory, not a file" if env_file.is_dir() else "no such file"
            raise ConfigError(
                f"--env-file {env_file}: {what} (`--env-file /dev/null` reads none)",
                source=str(env_file),
            )
        path = Path(".env") if env_file is None else env_file
        check_prefect_env_file(path)
        return load_settings(path)
    except ConfigError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(code=2) from error
