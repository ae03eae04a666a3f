"""The `orchestra-ops trigger` command: one line per error, an exit code per outcome."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer

from orchestra_cli.prefect_env import check_prefect_env_file
from orchestra_ops.errors import ConfigError, InvalidRequest, OpsError
from orchestra_ops.trigger import (
    EXIT_CODES,
    DeploymentClient,
    Exit,
    created_line,
    follow,
    read_parameters,
    start_run,
    verdict,
)

ClientFactory = Callable[[], AbstractContextManager[DeploymentClient]]


def _prefect() -> AbstractContextManager[DeploymentClient]:
    from orchestra_ops.adapters.prefect_deployments import PrefectDeployments

    return PrefectDeployments()


def run_trigger(
    name: str,
    parameters_text: str | None,
    parameters_file: Path | None,
    key: str | None,
    *,
    wait: bool,
    timeout_s: float,
    echo: Callable[[str], None],
    fail: Callable[[str], None],
    connect: ClientFactory = _prefect,
    poll_s: float = 2.0,
) -> Exit:
    """Start (and with ``wait`` follow) a run of ``name``; the exit code says how it went."""
    try:
        parameters = read_parameters(parameters_text, parameters_file)
        asked = dt.datetime.now(dt.UTC)
        with connect() as client:
            deployment, run = start_run(client, name, parameters, key)
            echo(created_line(deployment, run, key, asked))
            if not wait:
                return Exit.DONE
            run = follow(client, run, timeout_s, echo, poll_s=poll_s)
    except InvalidRequest as error:
        fail(f"trigger: {error}")
        return Exit.REFUSED
    except ConfigError as error:  # PREFECT_API_URL unset: no server to ask
        fail(f"trigger: {error}")
        return Exit.NO_SERVER if error.source == "PREFECT_API_URL" else Exit.REFUSED
    except OpsError as error:  # NotFound, Unavailable, Unauthorized
        fail(f"trigger: {error}")
        return Exit.NO_SERVER
    code, line = verdict(deployment, run, timeout_s)
    (echo if code is Exit.DONE else fail)(line)
    return code


def trigger(
    deployment: Annotated[
        str,
        typer.Argument(
            help="flow-name/deployment-name (e.g. lambda-provisioning/lambda-provisioning), "
            "or a deployment name only one flow uses."
        ),
    ],
    params: Annotated[
        str | None,
        typer.Option("--params", help="The parameters as JSON, e.g. '{\"params\": {...}}'."),
    ] = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="Read the parameters JSON from a file.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key: asking again with it returns the first run."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the run to its final state.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds --wait follows the run.")
    ] = 3600.0,
) -> None:
    """Start a run of a deployment on the Prefect server at PREFECT_API_URL.

    DEPLOYMENT: flow-name/deployment-name, or a deployment name that only one flow uses.

    Parameters are checked against the deployment's schema first: no run if they do not fit.
    """
    try:
        check_prefect_env_file()
    except ConfigError as error:
        typer.echo(f"trigger: {error}", err=True)
        raise typer.Exit(code=int(Exit.REFUSED)) from None
    code = run_trigger(
        deployment,
        params,
        params_file,
        key,
        wait=wait,
        timeout_s=timeout,
        echo=typer.echo,
        fail=lambda line: typer.echo(line, err=True),
    )
    raise typer.Exit(code=int(code))


# The exit codes belong in --help; typer shows the docstring, so they are appended to it.
trigger.__doc__ = f"{inspect.cleandoc(trigger.__doc__ or '')}\n\n{EXIT_CODES}"
