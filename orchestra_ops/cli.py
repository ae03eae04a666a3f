"""The `orchestra-ops` command: doctor, sandbox and demo."""

from __future__ import annotations

import signal
import threading
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
    env_file: EnvFile = Path(".env"),
) -> None:
    """Run the whole roadmap against the local sandbox, end to end."""
    from orchestra_ops.demo import run_demo

    settings = _settings(env_file)
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
    boot_delay: Annotated[
        float, typer.Option(help="Seconds a Lambda instance stays booting.")
    ] = 0.0,
    build_delay: Annotated[float, typer.Option(help="Seconds a Vercel build takes.")] = 0.0,
    env_file: EnvFile = Path(".env"),
) -> None:
    """Serve the Vercel and Lambda Cloud emulators and the advisory feeds on 127.0.0.1.

    Writes the endpoints file, serves until SIGINT or SIGTERM, then removes it.
    """
    from orchestra_ops.sandbox.runner import Sandbox, write_endpoints

    settings = _settings(env_file)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with Sandbox(
        settings.runtime.state_dir / "sandbox", boot_delay_s=boot_delay, build_delay_s=build_delay
    ) as endpoints:
        write_endpoints(endpoints_file, endpoints)
        typer.echo(f"sandbox ready; endpoints in {endpoints_file} (Ctrl-C stops it)")
        try:
            stop.wait()
        finally:
            endpoints_file.unlink(missing_ok=True)
    typer.echo("sandbox stopped")


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
    policy: Annotated[str, typer.Option(help="Policy file, relative to the repo.")] = (
        "security-policy.yaml"
    ),
    env_file: EnvFile = Path(".env"),
) -> None:
    """Scan with pip-audit, safety and npm audit; exit 1 when the policy gate fails."""
    from orchestra_ops.errors import OpsError
    from orchestra_ops.security_scan import run_scan

    settings = _settings(env_file)
    try:
        outcome = run_scan(repo, settings.scan, out_dir, policy_file=policy)
    except OpsError as error:
        typer.echo(f"security scan failed: {error}", err=True)
        raise typer.Exit(code=2) from error
    if sarif is not None:
        sarif.write_bytes(outcome.reports["sarif"].read_bytes())
    typer.echo(outcome.summary)
    raise typer.Exit(code=0 if outcome.gate.passed else 1)


def main() -> None:
    """Entry point for `python -m orchestra_ops`."""
    app()
