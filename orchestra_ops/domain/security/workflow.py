"""The generated ``.github/workflows/security-audit.yml`` (pure text; roadmap phase 3C).

Weekly (Monday 06:00 UTC), on pushes to main and on pull requests. Jobs: pip-audit per
pinned requirements file, npm audit per frontend, the merged Orchestra Ops scan that
uploads SARIF to code scanning, and dependency review on pull requests. Permissions
are read-only by default; only the SARIF job may write security events.

Every action is pinned to a full commit SHA with its release in a comment. Each pin was
seen with that version comment in at least two independent public workflows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ActionPin:
    """An action at a full commit SHA, and the release that SHA is."""

    action: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        """The ``uses:`` value with its version comment."""
        return f"{self.action}@{self.sha} # {self.version}"


CHECKOUT = ActionPin("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
SETUP_NODE = ActionPin("actions/setup-node", "49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0")
SETUP_PYTHON = ActionPin(
    "actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"
)
UPLOAD_SARIF = ActionPin(
    "github/codeql-action/upload-sarif", "5d4e8d1aca955e8d8589aabd499c5cae939e33c7", "v4.31.9"
)
DEPENDENCY_REVIEW = ActionPin(
    "actions/dependency-review-action", "da24556b548a50705dd671f47852072ea4c105d9", "v4.6.0"
)
PINS = (CHECKOUT, SETUP_NODE, SETUP_PYTHON, UPLOAD_SARIF, DEPENDENCY_REVIEW)

DEFAULT_SCAN_COMMAND = "orchestra-ops security scan . --sarif security.sarif"


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
    lines = [
        "# Generated by orchestra-ops (dependency security, roadmap phase 3C).",
        "name: Security audit",
        "on:",
        "  schedule:",
        "    - cron: '0 6 * * 1'  # weekly, Monday 06:00 UTC",
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
