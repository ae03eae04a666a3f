"""The generated ``.github/workflows/security-audit.yml`` (pure text; roadmap phase 3C).

Weekly (at the hour of the weekly scan deployment, converted to UTC: GitHub's cron has
no time zone), on pushes to main and on pull requests. Jobs: pip-audit per
pinned requirements file, npm audit per frontend, the merged Orchestra Ops scan that
uploads SARIF to code scanning, and dependency review on pull requests. Permissions
are read-only by default; only the SARIF job may write security events.

Every action is pinned to a full commit SHA (see ``domain/github_actions.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from orchestra_ops.domain.github_actions import (
    CHECKOUT,
    DEPENDENCY_REVIEW,
    SETUP_NODE,
    SETUP_PYTHON,
    UPLOAD_SARIF,
)

DEFAULT_SCAN_COMMAND = "orchestra-ops security scan . --sarif security.sarif"

#: The weekly scan deployment's schedule in prefect.yaml: Mondays 06:00 in Los Angeles.
SCAN_HOUR = 6
SCAN_TIMEZONE = "America/Los_Angeles"


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
        "      - run: python -m pip install 'pip-audit>=2.10,<2.11'",
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


def _sarif_job(install: str, scan_command: str) -> list[str]:
    return [
        "  sarif:",
        "    name: Merged scan to code scanning",
        "    runs-on: ubuntu-latest",
        "    permissions:",
        "      contents: read",
        "      security-events: write",
        "    steps:",
        *_checkout(),
        *_python(),
        *_node(),
        f"      - run: python -m pip install '{install}'",
        "      - name: Scan (pip-audit, safety, npm audit; the policy gate)",
        f"        run: {scan_command}",
        f"      - uses: {UPLOAD_SARIF.uses}",
        "        if: always() && hashFiles('security.sarif') != ''",
        "        with:",
        "          sarif_file: security.sarif",
        "          category: dependency-audit",
    ]


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
    install: str = "orchestra-ops",
    scan_command: str = DEFAULT_SCAN_COMMAND,
) -> str:
    """The workflow text for these pinned requirements files and npm project directories."""
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
    lines += _sarif_job(install, scan_command) + _review_job()
    return "\n".join(lines) + "\n"
