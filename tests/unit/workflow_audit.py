"""A reviewer of generated GitHub workflows: what they install, who may write, who holds
secrets. Each check returns its problems as ``"<job>/<step>: <what>"`` lines.

The rules, one per class of problem seen in generated workflows:

- ``pip install`` only in hash-checking mode from a requirements file
  (``--require-hashes -r FILE``): never a bare or ranged name;
- npm only as ``npm ci`` or ``npm audit`` (the lockfile decides); no ``npx``,
  ``npm install``/``npm i``/``npm exec``, ``yarn dlx``, ``pnpm dlx``;
- every ``python -m`` is ``python -P -m`` (or its step sets ``PYTHONSAFEPATH``): plain
  ``-m`` puts the working directory, a checkout of the repository, first on
  ``sys.path``, so a file there could stand in for the module or one it imports;
- nothing downloaded is run unverified: no ``curl``/``wget`` piped to a shell, and a
  step that downloads a file checks it with ``sha256sum -c``;
- every ``uses:`` is an action of the allowed list at its full 40-hex commit SHA;
- the workflow's permissions are read-only and only ``allowed_writer`` may write, and
  only ``security-events``; every checkout keeps no credentials;
- a job that gives a step the Vercel token runs no repository script: no ``npm ci``
  without ``--ignore-scripts``, no ``npm run``, no ``vercel build`` (what such a script
  leaves behind, a replaced ``node_modules/.bin/vercel`` or a ``node`` added to
  ``$GITHUB_PATH``, would run with the token);
- secrets reach steps only through a step's own ``env``/``with`` (never the workflow's
  or a job's env, never interpolated into a script), and only steps that run a
  credential-using command get them (never an install or build step).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML

from orchestra_ops.domain.github_actions import PINS

SECRET = re.compile(r"\$\{\{\s*secrets\.")
PINNED_USES = re.compile(r"([\w.-]+/[\w./-]+)@([0-9a-f]{40})")
CREDENTIAL_USERS = (
    "pulumi preview ",
    "pulumi up ",
    "node_modules/.bin/vercel pull ",
    "node_modules/.bin/vercel deploy ",
)
_NPM_BAD = re.compile(r"(^|[\s;&|(])(npx|npm (install|i|exec|x)|yarn dlx|pnpm dlx)(\s|$)")
_PIPE_TO_SHELL = re.compile(r"(curl|wget)[^|\n]*\|\s*(sudo\s+)?(ba|z|da)?sh\b")
_DOWNLOAD = re.compile(r"(^|\s)(curl|wget)\s")
_PYTHON_FLAGS = re.compile(r"(?:^|[\s;&|(])python[0-9.]*((?:\s+-[A-Za-z]+)*)\s+-m\s")


def load(text: str) -> Any:
    """The workflow as plain data."""
    return YAML(typ="safe").load(text)


def steps(document: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(``job/step label``, step) of every step."""
    for job_name, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            label = step.get("name") or step.get("uses") or str(step.get("run", ""))[:40]
            yield f"{job_name}/{index}:{label}", step


def _commands(run: str) -> list[str]:
    """The shell commands of a script, continuation lines joined (messages left out)."""
    lines = (line.strip() for line in run.replace("\\\n", " ").splitlines())
    return [line for line in lines if line and not line.startswith("echo ")]


def install_problems(document: Any) -> list[str]:
    """Unpinned pip and npm installs, npx, and unverified downloads."""
    problems = []
    for where, step in steps(document):
        run = str(step.get("run", ""))
        for command in _commands(run):
            if re.search(r"\bpip3? install\b", command):
                if "--require-hashes" not in command or not re.search(r"\s-r\s", command):
                    problems.append(f"{where}: pip install without --require-hashes -r FILE")
            flags = _PYTHON_FLAGS.search(command)
            safe = str((step.get("env") or {}).get("PYTHONSAFEPATH", "")) not in ("", "0")
            if flags and "P" not in flags[1].replace("-", "") and not safe:
                problems.append(f"{where}: python -m without -P (the checkout shadows modules)")
            if _NPM_BAD.search(command):
                problems.append(f"{where}: npm beyond `npm ci`/`npm audit`: {command[:60]}")
        if _PIPE_TO_SHELL.search(run):
            problems.append(f"{where}: a download piped into a shell")
        elif _DOWNLOAD.search(run) and "sha256sum -c" not in run:
            problems.append(f"{where}: a download not checked with sha256sum -c")
    return problems


def action_problems(document: Any) -> list[str]:
    """Actions not at a full commit SHA, or not the SHA of the allowed list."""
    allowed = {(pin.action, pin.sha) for pin in PINS}
    problems = []
    for where, step in steps(document):
        if "uses" not in step:
            continue
        match = PINNED_USES.fullmatch(str(step["uses"]).split(" #")[0].strip())
        if match is None:
            problems.append(f"{where}: action not pinned to a 40-hex commit: {step['uses']}")
        elif (match[1], match[2]) not in allowed:
            problems.append(f"{where}: action not in the allowed pins: {step['uses']}")
        if match and match[1] == "actions/checkout":
            if (step.get("with") or {}).get("persist-credentials") is not False:
                problems.append(f"{where}: checkout keeps the token (persist-credentials)")
    return problems


def _writes(permissions: Any) -> set[str]:
    if isinstance(permissions, str):
        return {"*"} if permissions != "read-all" else set()
    return {scope for scope, level in (permissions or {}).items() if level == "write"}


def permission_problems(document: Any, allowed_writer: str | None = None) -> list[str]:
    """Write permissions anywhere but ``allowed_writer``'s ``security-events``."""
    problems = []
    if "permissions" not in document:
        problems.append("workflow: no top-level permissions (the default token may write)")
    if _writes(document.get("permissions")):
        problems.append(f"workflow: writes {sorted(_writes(document['permissions']))}")
    on = document.get("on") or {}
    if isinstance(on, dict) and "pull_request_target" in on:
        problems.append("workflow: pull_request_target runs untrusted code with secrets")
    for name, job in (document.get("jobs") or {}).items():
        writes = _writes(job.get("permissions"))
        if writes and not (name == allowed_writer and writes == {"security-events"}):
            problems.append(f"{name}: writes {sorted(writes)}")
    return problems


def _secret_names(mapping: Any) -> list[str]:
    return [k for k, v in (mapping or {}).items() if SECRET.search(str(v))]


def secret_problems(document: Any) -> list[str]:
    """Secrets given to the whole workflow or job, into scripts, or to steps not using them."""
    problems = [f"workflow env: {n}" for n in _secret_names(document.get("env"))]
    for name, job in (document.get("jobs") or {}).items():
        problems += [
            f"{name}: job env gives {n} to every step" for n in _secret_names(job.get("env"))
        ]
    for where, step in steps(document):
        run = str(step.get("run", ""))
        if SECRET.search(run):
            problems.append(f"{where}: a secret interpolated into the script")
        given = _secret_names(step.get("env")) + _secret_names(step.get("with"))
        if given and not run.startswith(CREDENTIAL_USERS):
            problems.append(f"{where}: gets {given} but runs no credential-using command")
    return problems


_REPO_SCRIPTS = re.compile(r"\bnpm ci\b(?!.*--ignore-scripts)|\bnpm run\b|\bvercel build\b")


def isolation_problems(document: Any) -> list[str]:
    """Repository scripts in a job whose steps hold the Vercel token."""
    problems = []
    for name, job in (document.get("jobs") or {}).items():
        job_steps = job.get("steps") or []
        holds_token = any(
            "VERCEL_TOKEN" in _secret_names(step.get("env"))
            or "secrets.VERCEL_TOKEN" in str(step.get("run", ""))
            for step in job_steps
        )
        if not holds_token:
            continue
        for index, step in enumerate(job_steps):
            for command in _commands(str(step.get("run", ""))):
                if _REPO_SCRIPTS.search(command):
                    problems.append(
                        f"{name}/{index}: runs repository scripts ({command[:40]}) in a job "
                        "that holds the Vercel token"
                    )
    return problems


def all_problems(text: str, allowed_writer: str | None = None) -> list[str]:
    """Every problem of a workflow text."""
    document = load(text)
    return (
        install_problems(document)
        + action_problems(document)
        + permission_problems(document, allowed_writer)
        + secret_problems(document)
        + isolation_problems(document)
    )
