"""The `orchestra-ops` command: doctor, sandbox and demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestra_ops.adapters.tools import probe_tools
from orchestra_ops.domain.doctor import credential_statuses, render_report
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import Settings, load_settings

app = typer.Typer(
    name="orchestra-ops",
    help="Carry out the Orchestra AI infrastructure roadmap as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
)

EnvFile = Annotated[
    Path, typer.Option("--env-file", help="A .env file read after the environment.")
]


def _settings(env_file: Path) -> Settings:
    try:
        return load_settings(env_file)
    except ConfigError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(code=2) from error


@app.command()
def doctor(env_file: EnvFile = Path(".env")) -> None:
    """Report which credentials are set (never their values) and which tools are present."""
    settings = _settings(env_file)
    for line in render_report(credential_statuses(settings), probe_tools()):
        typer.echo(line)


@app.command()
def demo(env_file: EnvFile = Path(".env")) -> None:
    """Run the roadmap against the local sandbox, end to end."""
    settings = _settings(env_file)
    for line in render_report(credential_statuses(settings), probe_tools()):
        typer.echo(line)
    typer.echo(
        "\nNot built yet: the sandbox emulators (issue 3) and the roadmap flows "
        "(issues 4-9). The demo so far checks settings and tools only."
    )


def main() -> None:
    """Entry point for `python -m orchestra_ops`."""
    app()
