"""The generated ``.github/workflows/deploy-frontends.yml`` (roadmap phase 1C; pure text).

On pushes to main: a ``changes`` job lists the files the push changed (``github.event.before``
to ``github.sha``; with no usable range, a new branch or a force push, every app counts
as changed), and each changed app goes through three jobs:

1. ``pull-<app>`` (the token): installs the Vercel CLI from the app's lockfile with
   ``npm ci --ignore-scripts`` (no package script runs), ``vercel pull`` the project
   settings, and hands on only ``.vercel/project.json`` (ids and build settings; the
   pulled environment file stays in this job);
2. ``build-<app>`` (no secret at all): ``npm ci`` (install scripts run here),
   ``vercel build --prod`` (the app's build scripts), and uploads ``.vercel/output``;
3. ``deploy-<app>`` (the token): the CLI again with ``npm ci --ignore-scripts``, the
   prebuilt output downloaded, ``vercel deploy --prebuilt``: no repository script runs
   in a job that holds the token, so nothing the build ran (a replaced
   ``node_modules/.bin/vercel``, a fake ``node`` on ``$GITHUB_PATH``) can reach it.

Build-time environment variables kept in Vercel are therefore not given to the build:
values the build needs go in the repository (public ones) or are read at run time.
Every action is pinned to a commit (``domain/github_actions.py``); app directories are
checked and written as quoted YAML scalars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orchestra_ops.domain.github_actions import (
    CHECKOUT,
    DOWNLOAD_ARTIFACT,
    SETUP_NODE,
    UPLOAD_ARTIFACT,
    quoted,
)

#: The Vercel CLI the error message asks an app to pin when its lockfile lacks one.
VERCEL_CLI = "vercel@64.0.2"
_APP = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_SECRET = re.compile(r"[A-Z_][A-Z0-9_]*")
_NO_RANGE = "0" * 40


def _job_id(app: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in app.lower()).strip("-")


def _output_id(app: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in app.lower())


def _check(apps: Mapping[str, str]) -> None:
    for app, secret in apps.items():
        if not _APP.fullmatch(app):
            raise ValueError(
                f"app directory {quoted(app, 'app directory')} must be a relative path of "
                "letters, digits, '.', '_' and '-'"
            )
        if not _SECRET.fullmatch(secret):
            raise ValueError(f"{app}: secret name {secret!r} must be UPPER_SNAKE_CASE")


def _changes_job(apps: Mapping[str, str]) -> list[str]:
    lines = [
        "  changes:",
        "    runs-on: ubuntu-latest",
        "    outputs:",
        *[f"      {_output_id(a)}: ${{{{ steps.diff.outputs.{_output_id(a)} }}}}" for a in apps],
        "    steps:",
        f"      - uses: {CHECKOUT.uses}",
        "        with:",
        "          fetch-depth: 0  # the push's first commit's parent may be far back",
        "          persist-credentials: false",
        "      - id: diff",
        "        env:",
        "          BEFORE: ${{ github.event.before }}",
        "          AFTER: ${{ github.sha }}",
        "        run: |",
        f'          if [ -z "$BEFORE" ] || [ "$BEFORE" = "{_NO_RANGE}" ] ||',
        '             ! git cat-file -e "$BEFORE^{commit}" 2>/dev/null; then',
        '            echo "::notice::no usable push range (new branch or force push): every app"',
        "            changed='*'",
        "          else",
        '            changed=$(git diff --name-only "$BEFORE" "$AFTER") || changed=\'*\'',
        "          fi",
    ]
    for app in apps:
        pattern = app.replace(".", "\\.")  # _check allows only [A-Za-z0-9._-/]
        lines.append(
            f"          if printf '%s\\n' \"$changed\" | grep -qE '^({pattern}/|\\*$)'; then "
            f'echo "{_output_id(app)}=true" >> "$GITHUB_OUTPUT"; fi'
        )
    return lines


def _vercel_env(project_secret: str) -> list[str]:
    return [
        "        env:",
        "          VERCEL_ORG_ID: ${{ secrets.VERCEL_ORG_ID }}",
        f"          VERCEL_PROJECT_ID: ${{{{ secrets.{project_secret} }}}}",
        "          VERCEL_TOKEN: ${{ secrets.VERCEL_TOKEN }}",
    ]


def _job_head(
    app: str, job: str, needs: str, condition: str, *, one_at_a_time: bool = False
) -> list[str]:
    concurrency = ["    concurrency:", f"      group: {job}", "      cancel-in-progress: false"]
    return [
        f"  {job}:",
        f"    needs: {needs}",
        f"    if: {condition}",
        "    runs-on: ubuntu-latest",
        *(concurrency if one_at_a_time else []),
        "    defaults:",
        "      run:",
        f"        working-directory: {quoted(app, 'app directory')}",
        "    steps:",
        f"      - uses: {CHECKOUT.uses}",
        "        with:",
        "          persist-credentials: false",
        f"      - uses: {SETUP_NODE.uses}",
        "        with:",
        "          node-version: 20",
    ]


def _install(app: str, *, scripts: bool) -> list[str]:
    missing = (
        f"::error::{app}/package-lock.json does not pin the Vercel CLI; run "
        f"npm install --save-dev --save-exact {VERCEL_CLI} in {app} and commit the lockfile"
    )
    install = (
        [
            "      - name: Install the app's locked dependencies (no credentials in this job)",
            "        run: npm ci",
        ]
        if scripts
        else [
            "      - name: Install the Vercel CLI from the app's lockfile (no package scripts)",
            "        run: npm ci --ignore-scripts",
        ]
    )
    return [
        *install,
        "      - name: Check that the lockfile pins the Vercel CLI",
        "        run: |",
        "          if [ ! -x node_modules/.bin/vercel ]; then",
        f"            echo {quoted(missing)}",
        "            exit 1",
        "          fi",
    ]


def _artifact(action: str, name: str, path: str, upload: bool) -> list[str]:
    lines = [
        f"      - uses: {action}",
        "        with:",
        f"          name: {quoted(name, 'artifact name')}",
        f"          path: {quoted(path, 'app directory')}",
    ]
    if upload:
        lines += [
            "          include-hidden-files: true  # .vercel and the output's .vc-config.json",
            "          if-no-files-found: error",
            "          retention-days: 1",
        ]
    return lines


def _app_jobs(app: str, project_secret: str) -> list[str]:
    job = _job_id(app)
    changed = f"needs.changes.outputs.{_output_id(app)} == 'true'"
    settings, output = f"vercel-project-{job}", f"vercel-output-{job}"
    return [
        *_job_head(app, f"pull-{job}", "changes", changed),
        *_install(app, scripts=False),
        "      - name: vercel pull",
        *_vercel_env(project_secret),
        "        run: node_modules/.bin/vercel pull --yes --environment=production"
        ' --token="$VERCEL_TOKEN"',
        *_artifact(UPLOAD_ARTIFACT.uses, settings, f"{app}/.vercel/project.json", True),
        *_job_head(app, f"build-{job}", f"[changes, pull-{job}]", changed),
        *_artifact(DOWNLOAD_ARTIFACT.uses, settings, f"{app}/.vercel", False),
        *_install(app, scripts=True),
        "      - name: vercel build (runs the app's build scripts; no credentials)",
        "        run: node_modules/.bin/vercel build --prod",
        *_artifact(UPLOAD_ARTIFACT.uses, output, f"{app}/.vercel/output", True),
        *_job_head(app, f"deploy-{job}", f"[changes, build-{job}]", changed, one_at_a_time=True),
        *_install(app, scripts=False),
        *_artifact(DOWNLOAD_ARTIFACT.uses, output, f"{app}/.vercel/output", False),
        "      - name: vercel deploy (the prebuilt output; no repository script runs here)",
        *_vercel_env(project_secret),
        '        run: node_modules/.bin/vercel deploy --prebuilt --prod --token="$VERCEL_TOKEN"',
    ]


def deploy_frontends_workflow(apps: Mapping[str, str]) -> str:
    """The workflow for ``apps``: app directory -> name of the secret holding its project id."""
    if not apps:
        raise ValueError("at least one app is needed")
    _check(apps)
    paths = ", ".join(quoted(f"{app}/**", "app directory") for app in apps)
    lines = [
        "# Generated by Orchestra Ops (roadmap phase 1C). Edit the flow's inputs, not this file.",
        "# Per app: pull (token; no package script runs), build (no secrets), deploy (token;",
        "# the prebuilt output only). Build-time variables kept in Vercel are not given to",
        "# the build: put public ones in the repository.",
        "name: Deploy frontends to Vercel",
        "on:",
        "  push:",
        "    branches: [main]",
        f"    paths: [{paths}]",
        "permissions:",
        "  contents: read",
        "jobs:",
        *_changes_job(apps),
    ]
    for app, secret in apps.items():
        lines += _app_jobs(app, secret)
    return "\n".join(lines) + "\n"
