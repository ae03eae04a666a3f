"""One security scan of a repository: scan, gate, reports on disk, trend. No Prefect here.

The scan itself is a :class:`~orchestra_ops.ports.scanner.Scanner` passed in (built by
``wiring.Clients.scanner``); this module only gates, reports and compares its result.

The weekly flow wraps this in tasks; `orchestra-ops security scan` runs it directly
(the generated GitHub workflow calls that). Reports land in ``out_dir``:
``report.json``, ``summary.md``, ``results.sarif``, ``sbom.cdx.json`` and ``trend.svg`` (the
findings of the last scans, also drawn in the summary); the trend compares with the previous
``report.json`` and ``history/`` there, so keep ``out_dir`` stable between runs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestra_ops import __version__
from orchestra_ops.adapters.files import write_atomically
from orchestra_ops.adapters.git import Git
from orchestra_ops.adapters.schema_validation import validate_cyclonedx, validate_sarif
from orchestra_ops.domain.security.manifest_text import decode_manifest
from orchestra_ops.domain.security.markdown import markdown_summary
from orchestra_ops.domain.security.policy import Policy, parse_policy
from orchestra_ops.domain.security.remediation import (
    Step,
    pins_left,
    remediation_plan,
    rewrite_pins,
    split_by_hand,
)
from orchestra_ops.domain.security.reports import findings_from_report, json_report
from orchestra_ops.domain.security.sarif import sarif_log
from orchestra_ops.domain.security.sbom import cyclonedx_sbom
from orchestra_ops.domain.security.scan import Gate, ScanResult, manifest_statuses
from orchestra_ops.domain.security.trend import Trend, compare_with_report
from orchestra_ops.domain.security.trend_chart import (
    MAX_SCANS,
    markdown_image,
    trend_points,
    trend_svg,
)
from orchestra_ops.domain.security.update_config import config_diff
from orchestra_ops.errors import ConfigError, OpsError, ScanError
from orchestra_ops.ports.scanner import Scanner

POLICY_FILE = "security-policy.yaml"


@dataclass(frozen=True)
class ScanOutcome:
    """A finished scan: the result, its gate, the trend and where the reports are."""

    result: ScanResult
    gate: Gate
    policy: Policy
    trend: Trend
    summary: str
    reports: dict[str, Path]

    @property
    def not_scanned(self) -> list[str]:
        """Every candidate manifest no scanner audited, as ``path: not scanned: reason``."""
        return [s.text for s in manifest_statuses(self.result) if not s.scanned]

    @property
    def scanned(self) -> int:
        """How many candidate manifests a scanner audited, in whole or in part."""
        return sum(1 for s in manifest_statuses(self.result) if s.scanned)

    @property
    def not_checked(self) -> int:
        """How many lines of scanned manifests no scanner checks (listed in the reports)."""
        return len(self.result.unchecked)


def load_policy(repo: Path, policy_file: str = POLICY_FILE) -> Policy:
    """The repo's policy; the defaults (fail on high, unknown counts as high) without one."""
    path = repo / policy_file
    if not path.is_file():
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 text (byte {error.start}); is it a binary file by mistake?"
        raise ConfigError(f"{path}: {reason}", source=str(path)) from None
    return parse_policy(text, source=str(path))


def _write_json(path: Path, document: Any) -> None:
    write_atomically(path, json.dumps(document, indent=2, sort_keys=False) + "\n")


def _previous(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / "report.json"
    if not path.is_file():
        return None
    try:
        previous: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        findings_from_report(previous)
    except ValueError:  # bad JSON, bad UTF-8 or a bad shape: a damaged report only costs the trend
        return None
    return previous


def _history(out_dir: Path) -> list[dict[str, Any]]:
    """The last scans' JSON reports under ``history/``, oldest first; unreadable ones skipped."""
    reports = []
    for path in sorted((out_dir / "history").glob("report-*.json"))[-MAX_SCANS:]:
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):  # a damaged old report costs one bar, not the chart
            continue
    return reports


def run_scan(
    repo: Path,
    scanner: Scanner,
    out_dir: Path,
    *,
    policy_file: str = POLICY_FILE,
    max_concurrency: int = 4,
    today: dt.date | None = None,
) -> ScanOutcome:
    """Scan ``repo`` with ``scanner``, gate it by the repo's policy, write reports and trend."""
    policy = load_policy(repo, policy_file)
    result = scanner.scan(repo, max_concurrency=max_concurrency)
    now = dt.datetime.now(dt.UTC)
    gate = result.gate(policy, today or now.date())
    out_dir.mkdir(parents=True, exist_ok=True)
    trend = compare_with_report(result.findings, _previous(out_dir))
    report = json_report(result, gate, policy, now)
    sarif = sarif_log(result.findings, __version__, manifest_statuses(result))
    sbom = cyclonedx_sbom(result, subject=repo.name, tool_version=__version__, timestamp=now)
    problems = validate_sarif(sarif) + validate_cyclonedx(sbom)
    if problems:
        raise ScanError(f"generated reports are not schema-valid: {problems[:3]}")
    chart = trend_svg(trend_points([*_history(out_dir), report]), f"Findings per scan: {repo.name}")
    summary = markdown_summary(
        result,
        gate,
        policy,
        trend=trend,
        remediation=remediation_plan(result.findings),
        chart=markdown_image(chart),
    )
    reports = {
        "json": out_dir / "report.json",
        "markdown": out_dir / "summary.md",
        "sarif": out_dir / "results.sarif",
        "sbom": out_dir / "sbom.cdx.json",
        "trend": out_dir / "trend.svg",
    }
    _write_json(reports["json"], report)
    _write_json(reports["sarif"], sarif)
    _write_json(reports["sbom"], sbom)
    reports["markdown"].write_text(summary, encoding="utf-8")
    reports["trend"].write_text(chart, encoding="utf-8")
    history = out_dir / "history"
    history.mkdir(exist_ok=True)
    _write_json(history / f"report-{now.strftime('%Y%m%dT%H%M%SZ')}.json", report)
    return ScanOutcome(result, gate, policy, trend, summary, reports)


FIX_BRANCH = "orchestra-ops/security-fixes"


@dataclass(frozen=True)
class PinFixes:
    """What the fix mode raised (a unified diff per manifest) and what it leaves to a person
    (a line each: where, what, to which version, why)."""

    diffs: dict[str, str]
    by_hand: tuple[str, ...] = ()


def fix_pins(repo: Path, outcome: ScanOutcome, *, apply: bool) -> PinFixes:
    """Raise vulnerable pins of requirements files to their smallest fix.

    A dry run (``apply=False``) only computes the diffs. Applying needs a clean git work
    tree and commits the new pins on a new branch, for review as a pull request. Pins in
    lock files and install commands, and those with no fixed version, are listed instead.
    """
    kinds = {m.path: m.kind for m in outcome.result.manifests}
    steps, by_hand = split_by_hand(remediation_plan(outcome.result.findings), kinds)
    diffs: dict[str, str] = {}
    rewritten: dict[str, bytes] = {}
    for manifest in sorted({s.manifest for s in steps}):
        # In the file's own encoding and line endings: only the raised versions change.
        mine = [s for s in steps if s.manifest == manifest]
        data = (repo / manifest).read_bytes()
        old = decode_manifest(data)
        try:
            if old.to_bytes() != data:  # utf-8-sig without its mark, stateful codecs (utf-7)
                raise ValueError(
                    f"{manifest} is {old.encoding} text that would not be written back byte "
                    "for byte"
                )
            raised = rewrite_pins(old.text, mine, manifest)
        except ValueError as refusal:  # this file's fixes are left to a person, not the others
            by_hand += [f"{s.text}: {refusal}" for s in mine]
            continue
        new = replace(old, text=raised)
        by_hand += pins_left(new.lines_text, mine, manifest)
        if raised != old.text:
            rewritten[manifest] = new.to_bytes()
            diffs[manifest] = config_diff(old.lines_text, new.lines_text, manifest)
    if apply and rewritten:
        git = Git(repo)
        changed = git.changed_files()
        if changed:
            raise ScanError(_dirty(repo, changed))
        if git.branch_exists(FIX_BRANCH):
            raise ScanError(f"branch {FIX_BRANCH} exists; merge or delete it first")
        _commit_on_fix_branch(git, rewritten, _commit_message(steps, by_hand, diffs))
    return PinFixes(diffs, tuple(sorted(by_hand)))


def _dirty(repo: Path, changed: list[str]) -> str:
    """Why the fix cannot be committed, naming the changed files (untracked ones count)."""
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return (
        f"{repo} has uncommitted changes ({shown}); commit them, or `git stash -u`, first "
        "(reports written inside the repository count too: give an out_dir outside it)"
    )


def _commit_message(steps: list[Step], by_hand: list[str], diffs: dict[str, str]) -> str:
    """The fix commit's subject and body: each raised pin with what it fixes."""
    body = [f"- {s.text}" for s in steps if s.manifest in diffs]
    if by_hand:
        body += ["", f"Left to do by hand: {len(by_hand)} (see the run's security-fixes artifact)."]
    files = "file" if len(diffs) == 1 else "files"
    return f"security: raise vulnerable pins in {len(diffs)} requirements {files}\n\n" + "\n".join(
        body
    )


def _commit_on_fix_branch(git: Git, rewritten: dict[str, bytes], message: str) -> None:
    """Write the files and commit them on a new fix branch; if the commit fails (a signing
    key, a full disk), the files, the branch and the checkout are put back as they were."""
    start = git.run("rev-parse", "--abbrev-ref", "HEAD").strip()
    if start == "HEAD":  # a detached HEAD: come back to its commit
        start = git.rev_parse()
    git.create_branch(FIX_BRANCH)
    try:
        for manifest, data in rewritten.items():
            (git.repo / manifest).write_bytes(data)
        git.commit_all(message)
    except (OpsError, OSError) as error:
        git.checkout(start, discard_changes=True)
        git.delete_branch(FIX_BRANCH)
        raise ScanError(f"the fix commit failed, and nothing was changed: {error}") from error
