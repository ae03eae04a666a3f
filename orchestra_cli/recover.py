"""`orchestra-ops recover`: what crashed runs left open, settled, and a summary of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from orchestra_cli.options import EnvFile, settings_from
from orchestra_ops.domain.provisioning import ENVIRONMENTS
from orchestra_ops.errors import ConfigError

if TYPE_CHECKING:
    from orchestra_ops.recover import RecoveryReport
    from orchestra_ops.recover_orphans import OrphanCheck


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
    without --no-runs, a credential or directory one check needs missing, a passphrase that
    does not open a stack's secrets): the last line says what.
    """
    settings = settings_from(env_file)  # before Prefect is imported: it reads ./.env too
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
    # Each reason a check could not be done is said once, on the last line.
    for why in sorted({why for _, _, why in unchecked if why}, key=len, reverse=True):
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
    """One reason for several checks said once: "orphans in dev, prod (why)". A reason that
    names its own stack ("backend/dev: the passphrase ...") is said once for all of them."""
    by_why: dict[str, dict[str, list[str]]] = {}
    for kind, where, why in unchecked:
        reason = why.replace(f"{where}: ", "") if where else why
        by_why.setdefault(reason, {}).setdefault(kind, []).append(where)
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
