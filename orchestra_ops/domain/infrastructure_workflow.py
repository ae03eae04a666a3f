"""The generated ``.github/workflows/infrastructure-ci.yml`` (roadmap phase 2B; pure text).

Generated for the target repository's own Pulumi projects (:class:`PulumiProject`, found
by their ``Pulumi.yaml``), in dependency order. Pull requests touching them preview the
dev stacks; pushes to main bring the prod stacks up. A project the workflow cannot run
reliably is left out and named, with why (:func:`ci_coverage`): a Python project with
no ``requirements.txt`` or one without hashes, a Node.js project without
``package-lock.json``, another runtime.

What runs is pinned: actions at full commit SHAs; the Pulumi CLI at one release whose
archive is checked against its SHA-256 before use; a Python project's packages from its
``requirements.txt`` in pip's hash-checking mode (``--require-hashes``; the Pulumi
program imports them in a step that holds the cloud credentials), a Node.js project's
from its lockfile (``npm ci``). The credentials are given to the Pulumi steps only.

The two jobs take their credentials from two GitHub environments: the preview job from
``infrastructure-preview`` (a Pulumi token that reaches only the dev stacks: it runs a
pull request's code), the prod job from ``infrastructure-production`` (its secrets exist
only there; restrict it to main and, if wanted, to reviewers). No repository secret is
used, so a pull request can never reach a production credential.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestra_ops.domain.github_actions import CHECKOUT, SETUP_NODE, SETUP_PYTHON, quoted


@dataclass(frozen=True)
class PulumiCli:
    """A Pulumi CLI release for linux-x64 and the SHA-256 of its archive."""

    version: str
    sha256: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"\d+\.\d+\.\d+", self.version):
            raise ValueError(f"Pulumi CLI version must be X.Y.Z: {self.version!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError("Pulumi CLI sha256 must be 64 hex digits")

    @property
    def url(self) -> str:
        """The release archive Pulumi publishes for this version."""
        return f"https://get.pulumi.com/releases/sdk/pulumi-v{self.version}-linux-x64.tar.gz"


#: The SHA-256 of ``pulumi-v3.253.0-linux-x64.tar.gz`` as recorded in public pinned-download
#: manifests (not re-checked against Pulumi's checksums file: this machine cannot reach it).
#: A wrong value fails the step (``sha256sum -c``); it can never let another file through.
#: The product's own CLI (``tools/pulumi-cli.version``, 3.274.1) is built from Pulumi's Go
#: modules, not downloaded, and no published SHA-256 of the 3.274.1 linux-x64 archive was
#: found offline: pinning that version here would mean trusting an unchecked value, so the
#: workflow keeps the release whose checksum could be found.
PULUMI_CLI = PulumiCli(
    "3.253.0", "33161e521280e6c77395a46344dba5ff9c118a90df254801e662087143b4d1ac"
)
#: The secrets each command's steps get. A preview runs the programs and the providers'
#: check and diff, none of which calls the Lambda API: the account-wide Lambda key never
#: reaches the code of a pull request, only `up` on main.
_CREDENTIALS = {
    "preview": ("PULUMI_ACCESS_TOKEN",),
    "up": ("PULUMI_ACCESS_TOKEN", "LAMBDA_LABS_API_KEY"),
}
PREVIEW_ENVIRONMENT = "infrastructure-preview"
PRODUCTION_ENVIRONMENT = "infrastructure-production"


@dataclass(frozen=True)
class PulumiProject:
    """A Pulumi project of the target repository, as found on disk.

    ``directory`` is relative to the repository root (``.`` for the root);
    ``requirements_hashed`` is None without a ``requirements.txt``.
    """

    directory: str
    name: str
    runtime: str
    requirements_hashed: bool | None = None
    npm_lock: bool = False

    def problem(self) -> str | None:
        """Why the workflow cannot run this project reliably (None: it can)."""
        if self.runtime == "python":
            if self.requirements_hashed is None:
                return (
                    "a Python project without requirements.txt: CI cannot install its "
                    "packages; add one made with `uv pip compile --generate-hashes`"
                )
            if not self.requirements_hashed:
                return (
                    "its requirements.txt has no hashes (pip --require-hashes would fail); "
                    "compile it with `uv pip compile --generate-hashes`"
                )
            return None
        if self.runtime == "nodejs":
            return None if self.npm_lock else "a Node.js project without package-lock.json"
        if self.runtime == "yaml":
            return None
        return f"runtime {self.runtime!r} is not generated for (python, nodejs and yaml are)"


def ci_coverage(
    projects: Sequence[PulumiProject],
) -> tuple[list[PulumiProject], list[tuple[str, str]]]:
    """(the projects the workflow runs, in the given order; (directory, why) of the rest)."""
    covered = [p for p in projects if p.problem() is None]
    left_out = [(p.directory, p.problem() or "") for p in projects if p.problem() is not None]
    return covered, left_out


def _install_cli(cli: PulumiCli) -> list[str]:
    return [
        f"      - name: Install the Pulumi CLI {cli.version} (checksum-verified)",
        "        env:",
        f"          PULUMI_URL: {cli.url}",
        f"          PULUMI_SHA256: {cli.sha256}",
        "        run: |",
        '          curl -fsSL --proto =https -o "$RUNNER_TEMP/pulumi.tar.gz" "$PULUMI_URL"',
        '          echo "$PULUMI_SHA256  $RUNNER_TEMP/pulumi.tar.gz" | sha256sum -c -',
        '          tar -xzf "$RUNNER_TEMP/pulumi.tar.gz" -C "$RUNNER_TEMP"',
        '          echo "$RUNNER_TEMP/pulumi" >> "$GITHUB_PATH"',
    ]


def _install(project: PulumiProject) -> list[str]:
    where = quoted(project.directory, "Pulumi project directory")
    if project.runtime == "python":
        requirements = quoted(
            "requirements.txt"
            if project.directory == "."
            else f"{project.directory}/requirements.txt",
            "requirements file",
        )
        return [
            f"      - name: {quoted(f'Install {project.name} requirements (hash-checked)')}",
            "        env:",
            f"          REQUIREMENTS: {requirements}",
            '        run: python -P -m pip install --require-hashes -r "$REQUIREMENTS"',
        ]
    if project.runtime == "nodejs":
        return [
            f"      - name: {quoted(f'Install {project.name} packages from its lockfile')}",
            f"        working-directory: {where}",
            "        run: npm ci",
        ]
    return []


def _project_steps(project: PulumiProject, command: str, stack: str) -> list[str]:
    pulumi = (
        f"pulumi preview --stack {stack} --non-interactive"
        if command == "preview"
        else f"pulumi up --yes --stack {stack} --non-interactive"
    )
    return [
        *_install(project),
        f"      - name: {quoted(f'pulumi {command} {stack} ({project.name})')}",
        f"        working-directory: {quoted(project.directory, 'Pulumi project directory')}",
        "        env:",
        *[f"          {name}: ${{{{ secrets.{name} }}}}" for name in _CREDENTIALS[command]],
        f"        run: {pulumi}",
    ]


def _job(
    name: str,
    condition: str,
    environment: str,
    command: str,
    stack: str,
    projects: Sequence[PulumiProject],
    cli: PulumiCli,
) -> list[str]:
    lines = [
        f"  {name}:",
        f"    if: {condition}",
        "    runs-on: ubuntu-latest",
        f"    environment: {environment}",
        "    concurrency:",
        f"      group: pulumi-{stack}",
        "      cancel-in-progress: false",
        "    steps:",
        f"      - uses: {CHECKOUT.uses}",
        "        with:",
        "          persist-credentials: false",
        f"      - uses: {SETUP_PYTHON.uses}",
        "        with:",
        "          python-version: '3.11'",
    ]
    if any(p.runtime == "nodejs" for p in projects):
        lines += [f"      - uses: {SETUP_NODE.uses}", "        with:", "          node-version: 20"]
    lines += _install_cli(cli)
    for project in projects:
        lines += _project_steps(project, command, stack)
    return lines


def _paths(projects: Sequence[PulumiProject]) -> str:
    globs = ["**" if p.directory == "." else f"{p.directory}/**" for p in projects]
    return "[" + ", ".join(quoted(g, "Pulumi project directory") for g in globs) + "]"


def infrastructure_workflow(
    projects: Sequence[PulumiProject],
    cli: PulumiCli = PULUMI_CLI,
    left_out: Sequence[tuple[str, str]] = (),
) -> str:
    """The workflow for Pulumi projects the workflow can run (see :func:`ci_coverage`),
    given in dependency order; ``left_out`` (directory, why) is named in a comment."""
    if not projects:
        raise ValueError("at least one Pulumi project the workflow can run is needed")
    paths = _paths(projects)
    lines = [
        "# Generated by Orchestra Ops (roadmap phase 2B). Edit the flow's inputs, not this file.",
        "# Each Python project's requirements.txt must carry hashes (pip's --require-hashes",
        "# mode): make it with `uv pip compile --generate-hashes`.",
        f"# Secrets: PULUMI_ACCESS_TOKEN as an environment secret of {PREVIEW_ENVIRONMENT}",
        "# (a token for the dev stacks only: it runs pull requests; a preview calls no",
        "# Lambda API, so the account-wide LAMBDA_LABS_API_KEY is not given to it), and",
        "# PULUMI_ACCESS_TOKEN and LAMBDA_LABS_API_KEY as environment secrets of",
        f"# {PRODUCTION_ENVIRONMENT} (deployment branches: main only); none in the",
        "# repository's own secrets.",
    ]
    if left_out:
        lines.append("# Pulumi projects not run here:")
        lines += [f"#   {quoted(d, 'Pulumi project directory')}: {why}" for d, why in left_out]
    lines += [
        "name: Infrastructure CI/CD",
        "on:",
        "  push:",
        "    branches: [main]",
        f"    paths: {paths}",
        "  pull_request:",
        f"    paths: {paths}",
        "permissions:",
        "  contents: read",
        "jobs:",
        *_job(
            "preview-dev",
            "github.event_name == 'pull_request'",
            PREVIEW_ENVIRONMENT,
            "preview",
            "dev",
            projects,
            cli,
        ),
        *_job(
            "up-prod",
            "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            PRODUCTION_ENVIRONMENT,
            "up",
            "prod",
            projects,
            cli,
        ),
    ]
    return "\n".join(lines) + "\n"
