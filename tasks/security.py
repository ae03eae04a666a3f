"""Tasks of the weekly security flow."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from orchestra_ops.domain.security.findings_table import findings_description, findings_rows
from orchestra_ops.domain.security.update_config import ConfigChange, ConfigPlan
from orchestra_ops.errors import ConfigError
from orchestra_ops.security_scan import FIX_BRANCH, PinFixes, ScanOutcome, fix_pins, run_scan
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.policy import artifact_key, local_task, run_logger
from tasks.run_names import named


def default_out_dir(repo_path: str) -> Path:
    """Reports of a repo live under the state directory, stable between runs (for the trend)."""
    return load_settings().runtime.state_dir / "security" / Path(repo_path).resolve().name


@named("scan[{repo_path:name}]")
@local_task
def scan(repo_path: str, out_dir: str, policy_file: str, max_concurrency: int) -> ScanOutcome:
    """Run the three scanners on every manifest, apply the policy, write the reports."""
    run_logger("orchestra_ops.security").info(
        "scanning %s with pip-audit, safety and npm audit (each manifest, up to %d at once)",
        repo_path,
        max_concurrency,
    )
    return run_scan(
        Path(repo_path),
        for_process(load_settings()).scanner(),
        Path(out_dir),
        policy_file=policy_file,
        max_concurrency=max_concurrency,
    )


@named("publish[{repo_name}]")
@local_task
def publish(outcome: ScanOutcome, repo_name: str) -> None:
    """Markdown summary and findings table under stable keys: the UI keeps the history."""
    create_markdown_artifact(outcome.summary, key=artifact_key("security-summary", repo_name))
    failing = outcome.gate.verdict.failing
    rows = findings_rows(outcome.result.findings, set(failing))
    description = findings_description(
        repo_name,
        len(outcome.result.findings),
        len(failing),
        outcome.policy.threshold.label,
        len(outcome.result.failures),
    )
    create_table_artifact(
        rows, key=artifact_key("security-findings", repo_name), description=description
    )


@named("plan_update_config[{repo_path:name}]")
@local_task
def plan_update_config(repo_path: str) -> ConfigPlan:
    """The update bot's config and the workflow files as they should be; diffs and notes
    (the bot chosen, the other bot's file left alone) as an artifact.

    A bad generation setting or file name is reported (log, artifact, ``problem``), never
    raised: it must not replace the outcome of the scan that ran before it."""
    logger = get_run_logger()
    try:
        plan = for_process(load_settings()).update_config().plan(Path(repo_path))
    except ConfigError as error:
        plan = ConfigPlan([], problem=str(error))
        logger.error("update configuration not generated: %s", plan.problem)
    for note in plan.notes:
        logger.info("update configuration: %s", note)
    lines = ["# Generated update configuration", "", *[f"- {note}" for note in plan.notes], ""]
    if plan.problem:
        lines += [f"**Not generated:** {plan.problem}", ""]
    for change in plan.changes:
        state = "changes" if change.changed else "up to date"
        lines.append(f"## {change.path} ({state})")
        if change.changed:
            lines += ["```diff", change.diff.rstrip("\n"), "```"]
    create_markdown_artifact(
        "\n".join(lines) + "\n", key=artifact_key("security-config", Path(repo_path).name)
    )
    return plan


@named("write_update_config[{repo_path:name}]")
@local_task
def write_update_config(repo_path: str, changes: list[ConfigChange]) -> list[str]:
    """Write the changed configuration files into the repo."""
    return for_process(load_settings()).update_config().write(Path(repo_path), changes)


@named("fix[{repo_path:name}]")
@local_task
def fix(repo_path: str, outcome: ScanOutcome, apply: bool) -> PinFixes:
    """Raise vulnerable pins (dry run unless ``apply``); the diffs, and what is left to do
    by hand, become an artifact."""
    fixes = fix_pins(Path(repo_path), outcome, apply=apply)
    if not apply:
        mode = "dry run"
    else:
        mode = f"committed on branch {FIX_BRANCH}" if fixes.diffs else "apply: nothing to commit"
    lines = [f"# Pin fixes ({mode})", ""]
    if not fixes.diffs:
        lines.append(
            "No requirements file to rewrite: every fix is left to do by hand.\n"
            if fixes.by_hand
            else "Nothing to raise: the scan found no vulnerable pin."
        )
    for manifest, diff in fixes.diffs.items():
        lines += [f"## {manifest}", "```diff", diff.rstrip("\n"), "```"]
    if fixes.by_hand:
        lines += ["## Left to do by hand", "", *(f"- {line}" for line in fixes.by_hand)]
    create_markdown_artifact(
        "\n".join(lines) + "\n", key=artifact_key("security-fixes", Path(repo_path).name)
    )
    return fixes
