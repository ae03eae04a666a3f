"""The generated ``.github/workflows/security-audit.yml`` (pure text; roadmap phase 3C).

Weekly (at the hour of the weekly scan deployment, converted to UTC: GitHub's cron has
no time zone), on pushes to main and on pull requests. Jobs: pip-audit per
pinned requirements file, npm audit per frontend, the merged Orchestra Ops scan that
uploads SARIF to code scanning, and dependency review on pull requests. Permissions
are read-only by default; only the SARIF job may write security events.

Nothing is installed by name alone: every action is pinned to a full commit SHA (see
``domain/github_actions.py``); pip-audit comes from a generated requirements file of
exact versions and hashes (``--require-hashes``); Orchestra Ops itself is fetched from
a git URL at a full commit SHA and its dependencies from its own hash-pinned lock. With
no such source configured the SARIF job is left out, and a comment says how to add it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from orchestra_ops.domain.github_actions import (
    CHECKOUT,
    DEPENDENCY_REVIEW,
    SETUP_NODE,
    SETUP_PYTHON,
    UPLOAD_SARIF,
)

#: Where the generated, hash-pinned pip-audit requirements live in the target repo.
PIP_AUDIT_REQUIREMENTS = ".github/security-audit/pip-audit.txt"
DEFAULT_SCAN_COMMAND = "python -m orchestra_ops security scan . --sarif security.sarif"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_GIT_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/[A-Za-z0-9._~/-]+")

#: The weekly scan deployment's schedule in prefect.yaml: Mondays 06:00 in Los Angeles.
SCAN_HOUR = 6
SCAN_TIMEZONE = "America/Los_Angeles"
SCAN_WEEKDAY = "monday"


@dataclass(frozen=True)
class ProductSource:
    """Where the SARIF job fetches Orchestra Ops: an https git URL and a full commit SHA."""

    git_url: str
    commit: str

    def __post_init__(self) -> None:
        if not _GIT_URL.fullmatch(self.git_url):
            raise ValueError(
                f"product git URL must be an https:// repository URL: {self.git_url!r}"
            )
        if not _COMMIT.fullmatch(self.commit):
            raise ValueError("product commit must be a full 40-hex commit SHA (a tag can move)")


def utc_schedule(hour: int = SCAN_HOUR, timezone: str = SCAN_TIMEZONE) -> tuple[str, str]:
    """A GitHub cron for Mondays at ``hour`` in ``timezone`` (its standard time), and a
    comment that says so; in summer time the run is an hour later there."""
    local = dt.datetime(2026, 1, 5, hour, tzinfo=ZoneInfo(timezone))  # a Monday in winter
    utc = local.astimezone(dt.UTC)
    cron = f"0 {utc.hour} * * {utc.isoweekday() % 7}"
    comment = (
        f"weekly: {utc:%A %H:%M} UTC = {hour:02d}:00 {timezone} in standard time "
        "(an hour later there in summer); GitHub's cron is UTC"
    )
    return cron, comment


def _list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{item}'" for item in items) + "]"


def _checkout() -> list[str]:
    return [
        f"      - uses: {CHECKOUT.uses}",
        "        with:",
        "          persist-credentials: false",
    ]


def _python() -> list[str]:
    return [
        f"      - uses: {SETUP_PYTHON.uses}",
        "        with:",
        "          python-version: '3.11'",
    ]


def _node() -> list[str]:
    return [f"      - uses: {SETUP_NODE.uses}", "        with:", "          node-version: '20'"]


def _pip_audit_job(requirements: Sequence[str]) -> list[str]:
    return [
        "  pip-audit:",
        "    name: pip-audit (${{ matrix.manifest }})",
        "    runs-on: ubuntu-latest",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        f"        manifest: {_list(requirements)}",
        "    steps:",
        *_checkout(),
        *_python(),
        "      - name: Install pip-audit (exact versions, hash-checked)",
        f"        run: python -m pip install --require-hashes -r {PIP_AUDIT_REQUIREMENTS}",
        "      - name: Audit the pinned requirements (no resolver, no index)",
        "        env:",
        "          MANIFEST: ${{ matrix.manifest }}",
        '        run: pip-audit --strict -s osv -r "$MANIFEST" --no-deps --disable-pip',
    ]


def _npm_audit_job(directories: Sequence[str]) -> list[str]:
    return [
        "  npm-audit:",
        "    name: npm audit (${{ matrix.directory }})",
        "    runs-on: ubuntu-latest",
        "    strategy:",
        "      fail-fast: false",
        "      matrix:",
        f"        directory: {_list(directories)}",
        "    steps:",
        *_checkout(),
        *_node(),
        "      - name: Audit the lockfile",
        "        working-directory: ${{ matrix.directory }}",
        "        run: npm audit --audit-level=high",
    ]


def _fetch_product(product: ProductSource) -> list[str]:
    return [
        "      - name: Fetch Orchestra Ops at the pinned commit",
        "        env:",
        f"          PRODUCT_GIT_URL: {product.git_url}",
        f"          PRODUCT_COMMIT: {product.commit}",
        "          PRODUCT_DIR: ${{ runner.temp }}/orchestra-ops",
        "        run: |",
        '          git init -q "$PRODUCT_DIR"',
        '          git -C "$PRODUCT_DIR" fetch -q --depth 1 "$PRODUCT_GIT_URL" "$PRODUCT_COMMIT"',
        '          git -C "$PRODUCT_DIR" checkout -q --detach FETCH_HEAD',
        '          test "$(git -C "$PRODUCT_DIR" rev-parse HEAD)" = "$PRODUCT_COMMIT"',
        "      - name: Install its locked dependencies (exact versions, hash-checked)",
        "        env:",
        "          PRODUCT_DIR: ${{ runner.temp }}/orchestra-ops",
        '        run: python -m pip install --require-hashes -r "$PRODUCT_DIR/requirements.lock"',
    ]


def _sarif_job(product: ProductSource, scan_command: str) -> list[str]:
    return [
        "  sarif:",
        "    name: Merged scan to code scanning",
        "    runs-on: ubuntu-latest",
        "    permissions:",
        "      actions: read  # upload-sarif reads the run's details in private repositories",
        "      contents: read",
        "      security-events: write",
        "    steps:",
        *_checkout(),
        *_python(),
        *_node(),
        *_fetch_product(product),
        "      - name: Scan (pip-audit, safety, npm audit; the policy gate)",
        "        env:",
        "          PYTHONPATH: ${{ runner.temp }}/orchestra-ops",
        f"        run: {scan_command}",
        f"      - uses: {UPLOAD_SARIF.uses}",
        "        if: always() && hashFiles('security.sarif') != ''",
        "        with:",
        "          sarif_file: security.sarif",
        "          category: dependency-audit",
    ]


#: Said in the workflow instead of a SARIF job when no pinned source is configured.
NO_SARIF_JOB = (
    "  # No SARIF job: Orchestra Ops' merged scan is installed only from a pinned source.",
    "  # Set ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL and ORCHESTRA_WORKFLOW_PRODUCT_COMMIT (a full",
    "  # commit SHA) where the flow runs, and regenerate, to add it.",
)


def _review_job() -> list[str]:
    return [
        "  dependency-review:",
        "    if: github.event_name == 'pull_request'",
        "    runs-on: ubuntu-latest",
        "    steps:",
        *_checkout(),
        f"      - uses: {DEPENDENCY_REVIEW.uses}",
        "        with:",
        "          fail-on-severity: high",
    ]


def security_audit_workflow(
    requirements: Sequence[str],
    npm_directories: Sequence[str],
    *,
    product: ProductSource | None = None,
    scan_command: str = DEFAULT_SCAN_COMMAND,
) -> str:
    """The workflow text for these pinned requirements files and npm project directories.

    The pip-audit job installs from :data:`PIP_AUDIT_REQUIREMENTS`, which the caller
    writes next to it. Without ``product`` there is no SARIF job (see :data:`NO_SARIF_JOB`).
    """
    cron, comment = utc_schedule()
    lines = [
        "# Generated by orchestra-ops (dependency security, roadmap phase 3C).",
        "name: Security audit",
        "on:",
        "  schedule:",
        f"    - cron: '{cron}'  # {comment}",
        "  push:",
        "    branches: [main]",
        "  pull_request:",
        "permissions:",
        "  contents: read",
        "jobs:",
    ]
    if requirements:
        lines += _pip_audit_job(requirements)
    if npm_directories:
        lines += _npm_audit_job(npm_directories)
    lines += _sarif_job(product, scan_command) if product else list(NO_SARIF_JOB)
    lines += _review_job()
    return "\n".join(lines) + "\n"
