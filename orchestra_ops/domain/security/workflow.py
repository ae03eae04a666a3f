"""The generated ``.github/workflows/security-audit.yml`` (pure text; roadmap phase 3C).

Weekly (at the hour of the weekly scan deployment, converted to UTC: GitHub's cron has
no time zone), on pushes to main and on pull requests. Jobs: pip-audit per
pinned requirements file, npm audit per frontend, the merged Orchestra Ops scan that
uploads SARIF to code scanning, and dependency review on pull requests. Permissions
are read-only by default; only the SARIF job may write security events.

Every ``python -m`` runs as ``python -P -m`` (and ``PYTHONSAFEPATH=1`` for what the scan
starts): plain ``-m`` puts the working directory, the scanned checkout, first on
``sys.path``, so a file there named ``orchestra_ops/__main__.py`` or ``rich.py`` would run
in the job that may write security events. Every value that comes from the scanned
repository (a manifest path) is written as a quoted YAML scalar
(:func:`~orchestra_ops.domain.github_actions.quoted`).

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
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from orchestra_ops.domain.github_actions import (
    CHECKOUT,
    DEPENDENCY_REVIEW,
    SETUP_NODE,
    SETUP_PYTHON,
    UPLOAD_SARIF,
    quoted,
    quoted_list,
)

#: Where the generated, hash-pinned pip-audit requirements live in the target repo.
PIP_AUDIT_REQUIREMENTS = ".github/security-audit/pip-audit.txt"
#: The scanned repo's own .env is not Orchestra Ops' settings (a pull request could point
#: the advisory feeds elsewhere): the job reads none.
DEFAULT_SCAN_COMMAND = (
    "python -P -m orchestra_cli security scan . --sarif security.sarif --env-file /dev/null"
)
GIT_URL_ENV = "ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL"
COMMIT_ENV = "ORCHESTRA_WORKFLOW_PRODUCT_COMMIT"
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
        problem = product_source_problem(self.git_url, self.commit)
        if problem is not None:
            raise ValueError(problem)


def git_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the product's git URL, never quoting it (it may hold a token).

    It is written into a workflow file anyone with read access sees, so credentials in
    it (user-info, a query such as ``?access_token=``) are refused, not masked.
    """
    try:
        parts = urlsplit(url)
        has_userinfo = "@" in parts.netloc or parts.password is not None
    except ValueError:
        return f"{GIT_URL_ENV} is not a URL (value not shown)"
    if has_userinfo:
        return (
            f"{GIT_URL_ENV} holds credentials (user:token@): it is written into a workflow "
            "file that anyone who can read the repository sees. Give the public https URL "
            "(value not shown; revoke the token if it was real)"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return (
            f"{GIT_URL_ENV} has a query or fragment (it may hold a token, and it is written "
            "into a workflow file): give the plain https repository URL (value not shown)"
        )
    if not _GIT_URL.fullmatch(url):
        return (
            f"{GIT_URL_ENV} must be an https:// repository URL such as "
            "https://github.com/<owner>/<repo>.git (value not shown)"
        )
    return None


def product_source_problem(url: str | None, commit: str | None) -> str | None:
    """Why the two product-source settings cannot make a SARIF job (None: they can, or both
    are unset). Names the variable, never its value."""
    if url is None and commit is None:
        return None
    if url is None or commit is None:
        missing = GIT_URL_ENV if url is None else COMMIT_ENV
        return (
            f"{missing} is not set: the SARIF job needs both {GIT_URL_ENV} and "
            f"{COMMIT_ENV}, or neither"
        )
    problem = git_url_problem(url)
    if problem is not None:
        return problem
    if not _COMMIT.fullmatch(commit):
        return f"{COMMIT_ENV} must be a full 40-hex commit SHA (a branch or tag can move)"
    return None


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
        f"        manifest: {quoted_list(list(requirements), 'requirements file')}",
        "    steps:",
        *_checkout(),
        *_python(),
        "      - name: Install pip-audit (exact versions, hash-checked)",
        f"        run: python -P -m pip install --require-hashes -r {PIP_AUDIT_REQUIREMENTS}",
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
        f"        directory: {quoted_list(list(directories), 'npm project directory')}",
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
        f"          PRODUCT_GIT_URL: {quoted(product.git_url, GIT_URL_ENV)}",
        f"          PRODUCT_COMMIT: {quoted(product.commit, COMMIT_ENV)}",
        "          PRODUCT_DIR: ${{ runner.temp }}/orchestra-ops",
        "        run: |",
        '          git init -q "$PRODUCT_DIR"',
        '          git -C "$PRODUCT_DIR" fetch -q --depth 1 "$PRODUCT_GIT_URL" "$PRODUCT_COMMIT"',
        '          git -C "$PRODUCT_DIR" checkout -q --detach FETCH_HEAD',
        '          test "$(git -C "$PRODUCT_DIR" rev-parse HEAD)" = "$PRODUCT_COMMIT"',
        "      - name: Install its locked dependencies (exact versions, hash-checked)",
        "        env:",
        "          PRODUCT_LOCK: ${{ runner.temp }}/orchestra-ops/requirements.lock",
        '        run: python -P -m pip install --require-hashes -r "$PRODUCT_LOCK"',
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
        "          PYTHONSAFEPATH: '1'  # python processes the scan starts skip the checkout too",
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
    left_out: Sequence[tuple[str, str]] = (),
) -> str:
    """The workflow text for these pinned requirements files and npm project directories.

    ``requirements`` must be fully pinned (pip-audit ``--no-deps`` fails on a range) and
    ``npm_directories`` must hold a package-lock.json or npm-shrinkwrap.json (``npm audit``
    reads no other lock); ``left_out`` is (path, why) of the manifests that are not, each
    named in a comment. The pip-audit job installs from :data:`PIP_AUDIT_REQUIREMENTS`,
    which the caller writes next to it. Without ``product`` there is no SARIF job (see
    :data:`NO_SARIF_JOB`).
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
    if left_out:
        lines.append(
            "  # Not in the pip-audit / npm audit jobs (the weekly scan still reads them):"
        )
        lines += [f"  #   {quoted(path, 'manifest')}: {why}" for path, why in left_out]
    if requirements:
        lines += _pip_audit_job(requirements)
    if npm_directories:
        lines += _npm_audit_job(npm_directories)
    lines += _sarif_job(product, scan_command) if product else list(NO_SARIF_JOB)
    lines += _review_job()
    return "\n".join(lines) + "\n"
