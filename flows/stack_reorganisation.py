"""Track 4: reorganise the Pulumi projects of the target repo (phases 4A-4C).

Plan (always, as an artifact: every operation and a unified diff), then, when asked,
apply on a new branch with a durable journal, validate the new layout, and migrate the
stack state (checkpoint, rename, no-change preview, restore on failure) when the Pulumi
CLI is installed; without it, end in "state migration pending" with the exact pulumi
commands. A failed validation rolls the files back byte for byte. A run killed
part-way is finished with ``action=resume`` or undone with ``action=rollback``.
The plan's step 4A read literally (project files renamed to ``Pulumi.<name>.yaml``)
is refused: Pulumi reads such a file as the configuration of stack ``<name>``.
References the plan cannot rewrite (computed paths, code paths, links to re-make) and
projects it leaves in place (a symlink leading outside the repo) are in the report's
``manual_checks`` and ``refused``, and in the plan artifact.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, ConfigDict, Field

from orchestra_ops.domain.outcomes import RunOutcome
from orchestra_ops.domain.reorg.model import ApplyResult
from orchestra_ops.domain.reorg.plan import nothing_to_do
from orchestra_ops.errors import ConfigError
from tasks.policy import artifact_key
from tasks.reorganisation import apply_plan, plan_reorganisation, resume_run, roll_back_run
from tasks.state_migration import migrate_stack_state

LITERAL_4A = (
    "the plan's step 4A, read literally, renames each Pulumi.yaml to Pulumi.<name>.yaml; "
    "Pulumi reads that file as the configuration of a stack called <name>, so every project "
    "would lose its project file. Orchestra Ops carries out the intent instead: 4B's "
    "directories with 4A's project names, each keeping its Pulumi.yaml."
)


class ReorgAction(StrEnum):
    """What to do with the repository."""

    PLAN = "plan"
    APPLY = "apply"
    RESUME = "resume"
    ROLLBACK = "rollback"


class ReorgParams(BaseModel):
    """Which repository's Pulumi projects move into the new layout, and what to do:
    plan (changes nothing), apply, resume an interrupted apply, or roll back."""

    model_config = ConfigDict(extra="forbid", title="Stack reorganisation")

    repo_path: str = Field(
        title="Repository path", description="the target repository (a git work tree)"
    )
    action: ReorgAction = Field(
        ReorgAction.PLAN, title="Action", description="plan, apply, resume or rollback"
    )
    mapping_file: str = Field(
        "reorg.yaml",
        title="Mapping file",
        description="relative to the repo; the default mapping when absent",
    )
    literal_4a_rename: bool = Field(
        False,
        title="Rename project files (always refused)",
        description="the roadmap's step 4A read literally: each Pulumi.yaml renamed to "
        "Pulumi.{name}.yaml, which Pulumi reads as a stack's configuration. Always "
        "refused; the reorganisation keeps each Pulumi.yaml",
    )


class ReorgReport(BaseModel):
    """What the reorganisation did."""

    action: str
    operations: int
    outcome: RunOutcome
    branch: str | None = None
    commit: str | None = None
    pending_commands: list[str] = Field(default_factory=list)
    stacks: list[str] = Field(default_factory=list, description="state migration, per stack")
    problems: list[str] = Field(default_factory=list)
    refused: list[str] = Field(
        default_factory=list, description="mapped projects left in place, and why"
    )
    manual_checks: list[str] = Field(
        default_factory=list, description="references to check by hand after the moves"
    )


def _report(action: str, result: ApplyResult) -> ReorgReport:
    return ReorgReport(
        action=action,
        operations=result.operations,
        outcome=result.outcome,
        branch=result.branch,
        commit=result.commit,
        pending_commands=list(result.pending_commands),
        refused=list(result.refused),
        manual_checks=[str(check) for check in result.manual],
    )


@flow(name="stack-reorganisation")
def stack_reorganisation(params: ReorgParams) -> ReorgReport:
    """Plan, apply, resume or roll back (see the module docstring)."""
    if params.literal_4a_rename:
        raise ConfigError(f"refused: {LITERAL_4A}")
    if params.action is ReorgAction.ROLLBACK:
        roll_back_run(params.repo_path)
        return ReorgReport(action="rollback", operations=0, outcome=RunOutcome.ROLLED_BACK)
    if params.action is ReorgAction.RESUME:
        resumed = _report("resume", resume_run(params.repo_path))
        return _migrate_state(params.repo_path, resumed)
    plan = plan_reorganisation(params.repo_path, params.mapping_file)
    listed = {
        "refused": list(plan.refused),
        "manual_checks": [str(check) for check in plan.manual],
    }
    if plan.refused or plan.manual:
        get_run_logger().warning(
            "plan: %d project(s) refused, %d reference(s) to check by hand (see the artifact)",
            len(plan.refused),
            len(plan.manual),
        )
    if (reason := nothing_to_do(plan)) is not None:
        get_run_logger().info("%s: %s", params.repo_path, reason)
        action = params.action.value
        return ReorgReport(action=action, operations=0, outcome=RunOutcome.NOTHING_TO_DO, **listed)
    if params.action is ReorgAction.PLAN:
        return ReorgReport(
            action="plan", operations=len(plan.operations), outcome=RunOutcome.PLANNED, **listed
        )
    applied = _report("apply", apply_plan(params.repo_path, plan))
    return _migrate_state(params.repo_path, applied)


def _migrate_state(repo_path: str, report: ReorgReport) -> ReorgReport:
    """Migrate the stack state after the files moved; list the commands when no CLI can."""
    if report.outcome is not RunOutcome.STATE_MIGRATION_PENDING:
        return report
    logger = get_run_logger()
    key = artifact_key("reorg-state", Path(repo_path).name)
    migrated = migrate_stack_state(repo_path)
    if migrated is None:
        commands = "\n".join(f"    {c}" for c in report.pending_commands)
        create_markdown_artifact(
            f"# State migration pending\n\nNo Pulumi engine here; run, per stack:\n\n{commands}\n",
            key=key,
        )
        logger.warning(
            "files reorganised; stack state migration pending (%d commands)",
            len(report.pending_commands),
        )
        return report
    lines = "\n".join(f"- {line}" for line in migrated)
    create_markdown_artifact(f"# Stack state migrated\n\n{lines}\n", key=key)
    logger.info("files reorganised; stack state migrated (%d stacks)", len(migrated))
    return report.model_copy(
        update={"outcome": RunOutcome.APPLIED, "pending_commands": [], "stacks": migrated}
    )
