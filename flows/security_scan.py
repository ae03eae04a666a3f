"""Track 3: the weekly dependency-security scan (pip-audit, safety, npm audit).

Scans every manifest of the target repo, merges the findings, applies the repo's
``security-policy.yaml``, writes JSON / Markdown / SARIF / CycloneDX reports, publishes
the summary and the findings table under stable artifact keys, compares with the last
run, and shows (optionally writes) the Dependabot, Renovate and workflow files. The
run fails when the gate fails: findings at or above the threshold end in a Failed state
named ``PolicyViolation``, a scan error (a broken scanner or feed) in a plain ``Failed``.
A generation setting that cannot work (e.g. half of the SARIF job's product source) is
reported in the run (log, artifact, ``config_problem``) and never replaces the gate's
outcome; only when the gate passed and writing was asked does it fail the run
(``ConfigNotWritten``).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal, cast

from prefect import State, flow, get_run_logger
from prefect.states import Failed
from pydantic import BaseModel, ConfigDict, Field

from orchestra_ops.domain.notifications import findings_notice
from orchestra_ops.errors import ConfigError, SecurityGateFailed
from tasks import security as t
from tasks.notify import send_notice

#: The weekly scan's target when ORCHESTRA_TARGET_REPO is not set at `make deploy`. The
#: server merges a run's parameters with the deployment's by top-level key only, so a
#: REST run giving part of ``params`` gets this default, not the deployment's value.
DEFAULT_TARGET = "examples/orchestra-main"

#: The name of the final state when the scan worked and found what the policy forbids.
POLICY_VIOLATION = "PolicyViolation"


class SecurityScanParams(BaseModel):
    """Which repository to scan for vulnerable dependencies, and what to do with the
    findings."""

    model_config = ConfigDict(extra="forbid", title="Security scan")

    repo_path: str = Field(
        DEFAULT_TARGET,
        title="Repository path",
        description=(
            "the target repository, on the worker (a relative path is in the run's clone "
            "of the deployed commit)"
        ),
    )

    @property
    def repo_name(self) -> str:
        """The last part of ``repo_path``: what the run is named after."""
        return PurePath(self.repo_path).name or self.repo_path

    policy_file: str = Field(
        "security-policy.yaml", title="Policy file", description="relative to the repository"
    )
    out_dir: str | None = Field(
        None,
        title="Report directory",
        description="empty: security/{repository name} under the state directory",
    )
    max_concurrency: int = Field(
        4, ge=1, le=32, title="Scanners at once", description="scanner runs at once"
    )
    write_update_config: bool = Field(
        False,
        title="Write update config",
        description="write Dependabot/Renovate/workflow files into the repo",
    )
    fail_on_findings: bool = Field(
        True, title="Fail on findings", description="fail the run when the gate fails"
    )
    fix: Literal["off", "dry-run", "apply"] = Field(
        "off",
        title="Fix vulnerable pins",
        description=(
            "raise vulnerable pins of requirements files: show the diff, or commit it on a "
            "branch; fixes in lock files and install commands are listed to do by hand"
        ),
    )


class ScanSummary(BaseModel):
    """What the scan found, in numbers, and where the reports are."""

    passed: bool
    scanned: int = Field(0, description="candidate manifests a scanner audited")
    findings: int
    failing: int
    scan_errors: int
    new: int
    fixed: int
    reports: dict[str, str]
    config_written: list[str] = Field(default_factory=list)
    fixes: dict[str, str] = Field(default_factory=dict)
    fixes_by_hand: list[str] = Field(default_factory=list)
    not_scanned: list[str] = Field(
        default_factory=list, description="candidate manifests not scanned, each with why"
    )
    not_checked: int = Field(0, description="lines no scanner checks (listed in the reports)")
    config_problem: str | None = Field(
        None, description="why the update configuration could not be generated"
    )


@flow(name="security-scan", flow_run_name="{params.repo_name}")
def security_scan(params: SecurityScanParams) -> ScanSummary:
    """Scan, gate, report (see the module docstring)."""
    logger = get_run_logger()
    out_dir = params.out_dir or str(t.default_out_dir(params.repo_path))
    outcome = t.scan(params.repo_path, out_dir, params.policy_file, params.max_concurrency)
    repo_name = outcome.reports["json"].parent.name
    t.publish(outcome, repo_name)
    fixes = t.fix(params.repo_path, outcome, params.fix == "apply") if params.fix != "off" else None
    plan = t.plan_update_config(params.repo_path)
    written = (
        t.write_update_config(params.repo_path, plan.changes) if params.write_update_config else []
    )
    summary = ScanSummary(
        passed=outcome.gate.passed,
        scanned=outcome.scanned,
        findings=len(outcome.result.findings),
        failing=len(outcome.gate.verdict.failing),
        scan_errors=len(outcome.result.failures),
        new=len(outcome.trend.new),
        fixed=len(outcome.trend.fixed),
        reports={kind: str(path) for kind, path in outcome.reports.items()},
        config_written=written,
        fixes=fixes.diffs if fixes else {},
        fixes_by_hand=list(fixes.by_hand) if fixes else [],
        not_scanned=outcome.not_scanned,
        not_checked=outcome.not_checked,
        config_problem=plan.problem,
    )
    logger.info(
        "security scan %s: %d manifests scanned, %d not; %d findings, %d at or above the "
        "threshold, %d scan errors; %d new and %d fixed since the last scan; report %s",
        "passed" if summary.passed else "failed",
        summary.scanned,
        len(summary.not_scanned),
        summary.findings,
        summary.failing,
        summary.scan_errors,
        summary.new,
        summary.fixed,
        summary.reports["markdown"],
    )
    if not summary.scanned:
        logger.warning(
            "nothing was scanned in %s: %s",
            params.repo_path,
            "; ".join(summary.not_scanned) or "no dependency manifest found",
        )
    if outcome.gate.verdict.failing or outcome.result.failures:
        failing, threshold = outcome.gate.verdict.failing, outcome.policy.threshold
        errors = [f"{f.tool} on {f.manifest}" for f in outcome.result.failures]
        report = summary.reports["markdown"]
        send_notice(
            findings_notice(repo_name, failing, threshold, report=report, scan_errors=errors)
        )
    if not summary.passed and params.fail_on_findings:
        # Prefect makes a returned state the run's final state: a caller of the flow gets
        # SecurityGateFailed raised, never the state, so the signature stays ScanSummary.
        return cast(ScanSummary, gate_failed(summary, outcome.policy.threshold.label))
    if plan.problem and params.write_update_config:
        # The gate passed, but what was asked to be written was not: say so in the state.
        message = f"security gate passed; update configuration not written: {plan.problem}"
        failed: State[None] = Failed(
            name="ConfigNotWritten", message=message, data=ConfigError(message)
        )
        return cast(ScanSummary, failed)
    return summary


def gate_failed(summary: ScanSummary, threshold: str) -> State[ScanSummary]:
    """The final state of a failed gate, named for what failed it.

    Findings alone end in ``PolicyViolation`` (the scanners worked, the code is
    vulnerable); any scan error ends in a plain ``Failed`` (the scan itself is broken).
    The state name reaches the ``prefect.flow-run.<name>`` event, the UI and the alerts;
    calling the flow directly still raises :class:`SecurityGateFailed`.
    """
    name = POLICY_VIOLATION if summary.scan_errors == 0 else "Failed"
    message = (
        f"security gate failed ({name}): {summary.failing} findings at or above "
        f"{threshold}, {summary.scan_errors} scan errors (report: {summary.reports['markdown']})"
    )
    return Failed(name=name, message=message, data=SecurityGateFailed(message))
