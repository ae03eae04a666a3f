"""The `orchestra-ops` command: doctor, sandbox, demo, security scan, recover and trigger."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from orchestra_cli.prefect_env import check_prefect_env_file
from orchestra_cli.trigger import trigger
from orchestra_ops.adapters.tools import probe_tools
from orchestra_ops.domain.doctor import credential_statuses, render_report
from orchestra_ops.domain.provisioning import ENVIRONMENTS
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import Settings, load_settings

if TYPE_CHECKING:
    from orchestra_ops.recover import RecoveryReport
    from orchestra_ops.recover_orphans import OrphanCheck

app = typer.Typer(
    name="orchestra-ops",
    help="Carry out the Orchestra AI infrastructure roadmap as Prefect flows.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflow instead of breaking mid-line
)

EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="A .env file read after the environment; default ./.env when there is one. "
        "A file named here must exist (`/dev/null` reads none).",
    ),
]


def _settings(env_file: Path | None) -> Settings:
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


@app.command()
def doctor(env_file: EnvFile = None) -> None:
    """Report which credentials are set (never their values), the API URLs in effect, which
    tools are present, and the settings that cannot work.

    Exit codes: 0 no problem (missing tools and warnings are listed, not fatal), 1 a
    setting cannot work (an unknown stack engine, a bad health-URL template), 2 a setting
    cannot be read.
    """
    settings = _settings(env_file)  # first: Prefect reads ./.env too, and warns per bad line
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
    from orchestra_ops.wiring import _engine_factory

    try:
        _engine_factory(spec)
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

    settings = _settings(env_file)
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

    settings = _settings(env_file)
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


@app.command()
def recover(
    infrastructure_dir: Annotated[
        Path, typer.Option("--infrastructure-dir", help="Holds the shared and backend projects.")
    ] = Path("infrastructure/pulumi"),
    environment: Annotated[
        list[str] | None,
        typer.Option(
            "--environment",
            click_type=click.Choice(ENVIRONMENTS),
            help="Check this environment (repeatable; default both).",
        ),
    ] = None,
    terminate_orphans: Annotated[
        bool, typer.Option("--terminate-orphans", help="Terminate the orphans found.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
    ] = False,
    runs: Annotated[
        bool,
        typer.Option(
            "--runs/--no-runs",
            help="Ask the Prefect server (PREFECT_API_URL) for runs left RUNNING by a dead "
            "process.",
        ),
    ] = True,
    mark_crashed: Annotated[
        bool, typer.Option("--mark-crashed", help="Mark those stuck runs Crashed.")
    ] = False,
    stuck_after_s: Annotated[
        float,
        typer.Option(
            "--stuck-after-s", min=10, help="Seconds without a heartbeat that make a run stuck."
        ),
    ] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    env_file: EnvFile = None,
) -> None:
    """Settle what crashed runs left open, list (or terminate) orphaned API instances and
    list (or mark crashed) flow runs left RUNNING by a dead process.

    Exit codes: 0 everything was checked and nothing is left open; 1 something is left
    open (an intent, pending operations, an orphan, a stuck run); 2 the settings or the
    ledger cannot be read; 3 nothing open was found, but something could not be checked
    (no Pulumi CLI, the Lambda API or the Prefect server unreachable, PREFECT_API_URL unset
    without --no-runs, a credential or directory one check needs missing): the last line
    says what.
    """
    settings = _settings(env_file)  # before Prefect is imported: it reads ./.env too
    from orchestra_ops.recover import recover as run_recovery
    from orchestra_ops.wiring import build

    chosen = environment or list(ENVIRONMENTS)
    try:
        with build(settings) as clients:
            report = run_recovery(
                clients,
                infrastructure_dir,
                list(dict.fromkeys(chosen)),
                terminate_orphans=terminate_orphans,
                dry_run=dry_run,
                runs=runs,
                mark_crashed=mark_crashed,
                stuck_after_s=stuck_after_s,
            )
    except ConfigError as error:  # e.g. a corrupt ledger
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(code=2) from error
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in _recovery_summary(report, terminate_orphans):
            typer.echo(line)
    raise typer.Exit(code=report.exit_code)


def _recovery_summary(report: RecoveryReport, terminating: bool) -> list[str]:
    """A short human summary: one line per intent and per environment."""
    lines = ["dry run: nothing was changed"] if report.dry_run else []
    lines.append(f"open intents found: {len(report.intents)}")
    lines += [f"  {r.key}: {r.state} ({r.detail})" for r in report.intents]
    lines += _pending_lines(report)
    by_line: dict[str, list[str]] = {}  # one skip message for every environment, not one each
    for check in report.orphans:
        line = _orphan_line(check, report.dry_run, terminating)
        by_line.setdefault(line, []).append(check.environment)
    lines += [f"orphans in {', '.join(envs)}: {line}" for line, envs in by_line.items()]
    lines.append(_runs_line(report))
    left_open, unchecked = report.left_open(), report.unchecked()
    # A long reason (the Pulumi CLI install hint) is said once, on the last line.
    for why in {why for _, _, why in unchecked if len(why) > 200}:
        lines = [line.replace(why, "see the last line") for line in lines]
    if left_open:
        lines.append(f"left open: {', '.join(left_open)}")
    if not left_open:
        checked = "nothing left open" if not unchecked else "nothing left open in what was checked"
        lines.append(checked)
    if unchecked:  # last: what could not be checked, and why
        lines.append(f"could not check: {_unchecked_said(unchecked)}")
    return lines


def _unchecked_said(unchecked: list[tuple[str, str, str]]) -> str:
    """One reason for several checks said once: "orphans in dev, prod (why)"."""
    by_why: dict[str, dict[str, list[str]]] = {}
    for kind, where, why in unchecked:
        by_why.setdefault(why, {}).setdefault(kind, []).append(where)
    said = []
    for why, kinds in by_why.items():
        parts = [f"{kind} in {', '.join(w)}" if any(w) else kind for kind, w in kinds.items()]
        said.append(f"{' and '.join(parts)} ({why})")
    return "; ".join(said)


def _pending_lines(report: RecoveryReport) -> list[str]:
    """What killed updates left pending in each stack, and what became of it."""
    busy = [c for c in report.pending if c.status != "checked" or c.lines]
    if not busy:
        return ["pending operations of killed updates: none"] if report.pending else []
    lines = []
    for check in busy:
        said = check.note if check.status != "checked" else f"{len(check.lines)} step(s)"
        status = _not_checked(check.status)
        lines.append(f"pending operations in {check.stack}: {status}: {said}")
        lines += [f"  {line}" for line in check.lines]
    return lines


def _runs_line(report: RecoveryReport) -> str:
    runs = report.runs
    if runs.status != "checked":
        return f"stuck flow runs: {_not_checked(runs.status)}: {runs.note}"
    if not runs.stuck:
        return "stuck flow runs: none"
    names = ", ".join(f"{r.name} ({r.id}, started {r.started})" for r in runs.stuck)
    if runs.marked:
        return f"stuck flow runs: {names}; marked crashed {len(runs.marked)}"
    return f"stuck flow runs: {names}; mark them with --mark-crashed"


def _not_checked(status: str) -> str:
    return "could not check" if status == "unchecked" else status


def _orphan_line(check: OrphanCheck, dry_run: bool, terminating: bool) -> str:
    if check.status != "checked":
        return f"{_not_checked(check.status)}: {check.note}"
    also = f"; {check.note}" if check.note else ""
    if not check.orphans:
        return f"none{also}"
    names = ", ".join(f"{o.id} ({o.name or 'unnamed'})" for o in check.orphans)
    if check.terminated:
        return f"{names}; terminated {len(check.terminated)}{also}"
    if dry_run and terminating:
        return f"{names}; would terminate{also}"
    return f"{names}; listed only (--terminate-orphans terminates them){also}"


def main() -> None:
    """Entry point for `python -m orchestra_cli`."""
    app()
