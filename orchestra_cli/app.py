"""The `orchestra-ops` command: doctor, sandbox, demo, security scan, recover and trigger."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra_cli.options import EnvFile, settings_from
from orchestra_cli.recover import recover
from orchestra_cli.trigger import trigger
from orchestra_ops.adapters.tools import probe_tools
from orchestra_ops.domain.doctor import credential_statuses, render_report
from orchestra_ops.errors import ConfigError

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="orchestra-ops",
    help="Carry out the Orchestra AI infrastructure roadmap as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow instead of breaking mid-line
)


@app.command()
def doctor(env_file: EnvFile = None) -> None:
    """Report which credentials are set (never their values), the API URLs in effect, which
    tools are present, and the settings that cannot work.

    Exit codes: 0 no problem (missing tools and warnings are listed, not fatal), 1 a
    setting cannot work (an unknown stack engine, a bad health-URL template), 2 a setting
    cannot be read.
    """
    settings = settings_from(env_file)  # first: Prefect reads ./.env too, and warns per bad line
    from prefect.settings import Settings as PrefectSettings

    from orchestra_ops.adapters.pulumi.backend import diy_url, passphrase_problem
    from orchestra_ops.domain.doctor import check_settings, endpoints

    state_dir = settings.runtime.state_dir
    findings = check_settings(
        settings,
        _engine_problem(settings.runtime.stack_engine),
        passphrase_problem(settings.pulumi, state_dir),
    )
    # Read afresh, as a new flow-run process would (environment and Prefect profile).
    local_state = diy_url(settings.pulumi.model_copy(update={"backend_url": None}), state_dir)
    in_effect = endpoints(settings, PrefectSettings().api.url, local_state)
    for line in render_report(credential_statuses(settings), probe_tools(), in_effect, findings):
        typer.echo(line)
    raise typer.Exit(code=1 if findings.problems else 0)


def _engine_problem(spec: str) -> str | None:
    """Why ORCHESTRA_STACK_ENGINE cannot be loaded, resolved as the wiring resolves it."""
    if spec == "pulumi":
        return None  # the Pulumi CLI: its presence is a tool line
    from orchestra_ops.wiring import engine_factory

    try:
        engine_factory(spec)
    except ConfigError as error:
        return str(error)
    return None


@app.command()
def demo(
    report: Annotated[
        Path, typer.Option("--report", help="Where to write the roadmap report JSON.")
    ] = Path(".orchestra-ops/roadmap-report.json"),
    inject_failure: Annotated[
        bool,
        typer.Option(
            "--inject-failure/--no-inject-failure",
            help="Break the first promotion in production, to show the rollback.",
        ),
    ] = True,
    env_file: EnvFile = None,
) -> None:
    """Run the whole roadmap against the local sandbox, end to end."""
    from orchestra_cli.demo import run_demo

    settings = settings_from(env_file)
    for line in render_report(credential_statuses(settings), probe_tools()):
        typer.echo(line)
    code = run_demo(
        settings.runtime.state_dir, report, inject_failure=inject_failure, echo=typer.echo
    )
    raise typer.Exit(code=code)


@app.command()
def sandbox(
    endpoints_file: Annotated[
        Path, typer.Option("--endpoints-file", help="Where to write the endpoints JSON.")
    ],
    worker_env: Annotated[
        Path | None,
        typer.Option(
            "--worker-env",
            help="Where to write the env file a worker sources to use the sandbox "
            "(default: the endpoints file with a .env suffix).",
        ),
    ] = None,
    boot_delay: Annotated[
        float, typer.Option(min=0, help="Seconds a Lambda instance stays booting.")
    ] = 0.0,
    build_delay: Annotated[float, typer.Option(min=0, help="Seconds a Vercel build takes.")] = 0.0,
    env_file: EnvFile = None,
) -> None:
    """Serve the Vercel and Lambda Cloud emulators and the advisory feeds on 127.0.0.1.

    Writes the endpoints file and the worker env file (both 0600), serves until SIGINT
    or SIGTERM, then removes them.
    """
    from orchestra_ops.adapters.files import write_atomically
    from orchestra_ops.sandbox.runner import (
        Sandbox,
        check_writable,
        endpoints_text,
        worker_env_text,
    )

    settings = settings_from(env_file)
    defaulted = worker_env is None
    worker_env = worker_env or endpoints_file.with_suffix(".env")
    if worker_env.resolve() == endpoints_file.resolve():
        why = (
            "the worker env file defaults to the endpoints file with a .env suffix, which is "
            "the endpoints file itself: give --worker-env"
            if defaulted
            else "--worker-env must differ from --endpoints-file"
        )
        typer.echo(f"sandbox: {why}", err=True)
        raise typer.Exit(code=2)
    try:
        check_writable(endpoints_file, "endpoints file")
        check_writable(worker_env, "worker env file")
    except ConfigError as error:
        typer.echo(f"sandbox: {error}", err=True)
        raise typer.Exit(code=2) from None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Sandbox(
        settings.runtime.state_dir / "sandbox", boot_delay_s=boot_delay, build_delay_s=build_delay
    ) as endpoints:
        written: list[Path] = []
        try:
            files = {
                endpoints_file: endpoints_text(endpoints),
                worker_env: worker_env_text(endpoints, settings.runtime.state_dir),
            }
            for path, text in files.items():
                try:
                    write_atomically(path, text, private=True)  # both hold tokens
                except OSError as error:
                    typer.echo(f"sandbox: cannot write {path}: {error.strerror}", err=True)
                    raise typer.Exit(code=2) from None
                written.append(path)
            typer.echo(
                f"sandbox ready; endpoints in {endpoints_file}; a worker sources {worker_env} "
                "(Ctrl-C stops it)"
            )
            stop.wait()
        finally:
            _remove_written(written)
    typer.echo("sandbox stopped")


def _remove_written(paths: list[Path]) -> None:
    """Remove the files the sandbox wrote; one that cannot go is named, not a traceback."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            typer.echo(f"sandbox: cannot remove {path}: {error.strerror}", err=True)


app.command()(trigger)  # orchestra-ops trigger: orchestra_cli/trigger.py
app.command()(recover)  # orchestra-ops recover: orchestra_cli/recover.py

security_app = typer.Typer(help="Dependency security: scan a repository.", no_args_is_help=True)
app.add_typer(security_app, name="security")


@security_app.command("scan")
def security_scan(
    repo: Annotated[Path, typer.Argument(help="The repository to scan.")] = Path("."),
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where report.json, summary.md, ... go.")
    ] = Path(".orchestra-ops/security"),
    sarif: Annotated[
        Path | None, typer.Option("--sarif", help="Also copy the SARIF log here.")
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Policy file, relative to the repo; it must exist. Default: the repo's "
            "security-policy.yaml, or the built-in policy (fail on high) without one."
        ),
    ] = None,
    env_file: EnvFile = None,
) -> None:
    """Scan with pip-audit, safety and npm audit.

    Exit codes: 0 the policy gate passed, 1 it failed (findings or a scan error), 2 the
    scan could not run (a missing --policy file, bad settings, an unreadable repo).
    """
    from orchestra_ops.domain.security.trend_chart import chart_as_path
    from orchestra_ops.errors import OpsError
    from orchestra_ops.security_scan import POLICY_FILE, run_scan
    from orchestra_ops.wiring import build

    settings = settings_from(env_file)
    if policy is not None and not (repo / policy).is_file():
        typer.echo(f"security scan: policy file {repo / policy} does not exist", err=True)
        raise typer.Exit(code=2)
    try:
        with build(settings) as clients:
            scanner = clients.scanner()
            outcome = run_scan(repo, scanner, out_dir, policy_file=policy or POLICY_FILE)
    except OpsError as error:
        typer.echo(f"security scan failed: {error}", err=True)
        raise typer.Exit(code=2) from error
    if sarif is not None:
        sarif.write_bytes(outcome.reports["sarif"].read_bytes())
    typer.echo(chart_as_path(outcome.summary, outcome.reports["trend"]))
    raise typer.Exit(code=0 if outcome.gate.passed else 1)


def main() -> None:
    """Entry point for `python -m orchestra_cli`."""
    app()
