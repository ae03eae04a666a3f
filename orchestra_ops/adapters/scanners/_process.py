"""Running one scanner subprocess: a private environment, a timeout, errors with context."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestra_ops.adapters.child_env import child_env
from orchestra_ops.domain.redaction import redact_urls
from orchestra_ops.errors import ScanError

_TAIL_LINES = 15
_TAIL_CHARS = 2000


def tool_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An allow-listed environment with a private HOME and caches under ``home``.

    Nothing of the worker's own (credentials, a developer's SAFETY_/npm_config_ settings)
    reaches a scanner; the runners set what they need in ``extra``.
    """
    env = child_env()
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHONWARNINGS="ignore",
        NO_COLOR="1",
    )
    env.update(extra or {})
    return env


def tail(text: str) -> str:
    """The last lines of a tool's output, bounded, for an error message."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return redact_urls("\n".join(lines[-_TAIL_LINES:])[-_TAIL_CHARS:])


def run_tool(
    args: Sequence[str],
    *,
    tool: str,
    manifest: str,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
) -> subprocess.CompletedProcess[str]:
    """Run ``args``; a timeout or a missing executable becomes a ScanError naming both."""
    try:
        return subprocess.run(
            list(args),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ScanError(
            f"{tool} on {manifest} did not finish within {timeout_s:g} s; "
            "check that its advisory feed answers, or raise the timeout"
        ) from error
    except OSError as error:
        raise ScanError(f"{tool} on {manifest} could not be started: {error.strerror}") from error


def failure(tool: str, manifest: str, code: int, what: str, output: str) -> ScanError:
    """A ScanError for a run that failed: tool, manifest, exit code, meaning, output tail."""
    detail = tail(output)
    suffix = f"\n{detail}" if detail else ""
    return ScanError(f"{tool} failed on {manifest} (exit {code}): {what}{suffix}")
