"""safety 3.8 ``check`` against a local database directory, every requirements file of a
scan in one run (each finding names the file it was found in: ``analyzed_requirement.found``).

safety 3.8 contacts its auth server at start-up even with ``--db``, so every ``SAFETY_*``
URL is pointed at ``auth_server_url`` when one is configured, and ``SAFETY_API_KEY`` is
removed whenever a database directory is used (with a key, safety ignores ``--db``).
The report is read from ``--save-json`` (``--output json`` wraps it in a banner).

Exit codes: 0 clean, 64 vulnerabilities found, 67 database directory missing,
69 database schema wrong, 65 credential invalid, 1 crash; anything else is a failure.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.scanners._process import failure, run_tool, tool_env
from orchestra_ops.adapters.scanners.pip_audit import sibling_executable
from orchestra_ops.errors import ScanError
from orchestra_ops.settings import ScanSettings

TOOL = "safety"
FINDINGS_EXIT = 64
_FAILURES = {
    67: "the safety database directory is missing; check ORCHESTRA_SAFETY_DB_DIR",
    69: "the safety database has the wrong schema (safety 3 needs schema_version 2.0.0)",
    65: "safety rejected the credential; check or unset SAFETY_API_KEY",
    66: "safety was rate limited; retry later",
    68: "safety could not fetch its database",
    1: "safety crashed (is its auth server reachable? see ORCHESTRA_SAFETY_AUTH_SERVER_URL)",
    2: "safety refused its command line (a file it could not open: too many open files?)",
}


def safety_url_env(auth_server_url: str) -> dict[str, str]:
    """The ``SAFETY_*`` variables that send every safety endpoint to one server."""
    base = auth_server_url.rstrip("/")
    return {
        "SAFETY_AUTH_SERVER_URL": base,
        "SAFETY_PLATFORM_URL": base,
        "SAFETY_PLATFORM_API_BASE_URL": f"{base}/cli/api/v1",
        "SAFETY_DATA_API_BASE_URL": f"{base}/data/",
        "SAFETY_FIREWALL_API_BASE_URL": f"{base}/fw",
        "SAFETY_PLATFORM_V2_URL": f"{base}/v2",
    }


class SafetyRunner:
    """Runs ``safety check`` on requirements files and returns its JSON report (format 1.1)."""

    def __init__(
        self,
        workdir: Path,
        *,
        db_dir: Path | None = None,
        auth_server_url: str | None = None,
        timeout_s: float = 120.0,
        executable: Path | None = None,
    ) -> None:
        self.workdir = workdir
        # safety runs in the manifest's directory: a relative path would point elsewhere
        self.db_dir = db_dir.resolve() if db_dir is not None else None
        self.auth_server_url = auth_server_url
        self.timeout_s = timeout_s
        self.executable = executable or sibling_executable("safety")

    @classmethod
    def from_settings(cls, settings: ScanSettings, workdir: Path, **kwargs: Any) -> SafetyRunner:
        """A runner for the database directory and auth server of ``settings``."""
        return cls(
            workdir,
            db_dir=settings.safety_db_dir,
            auth_server_url=settings.safety_auth_server_url,
            **kwargs,
        )

    def command(self, requirements: Sequence[Path], output: Path) -> list[str]:
        """The safety command line for requirements files."""
        args = [str(self.executable), "check"]
        for path in requirements:
            args += ["-r", str(path)]
        if self.db_dir is not None:
            args += ["--db", str(self.db_dir)]
        return [*args, "--save-json", str(output)]

    def environment(self, home: Path) -> dict[str, str]:
        """Private HOME and the SAFETY_* URLs; SAFETY_API_KEY only without a database dir."""
        extra = safety_url_env(self.auth_server_url) if self.auth_server_url else {}
        key = os.environ.get("SAFETY_API_KEY")
        if key and self.db_dir is None:
            # With a key safety ignores --db, so the key is kept only when no dir is set.
            extra["SAFETY_API_KEY"] = key
        return tool_env(home, extra)

    def audit(self, requirements: Path, manifest: str | None = None) -> dict[str, Any]:
        """safety's JSON report for one requirements file; ScanError when the run failed."""
        return self.audit_all([requirements], manifest or requirements.name)

    def audit_all(self, requirements: Sequence[Path], name: str) -> dict[str, Any]:
        """safety's JSON report for ``requirements`` (``name`` says what they are in an
        error); ScanError when the run failed."""
        if not self.executable.exists():
            raise ScanError(f"{TOOL} is not installed at {self.executable}; run `make venv`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="safety-", dir=self.workdir))
        output = run_dir / "out.json"
        files = [path.resolve() for path in requirements]
        done = run_tool(
            self.command(files, output),
            tool=TOOL,
            manifest=name,
            cwd=files[0].parent,
            env=self.environment(run_dir / "home"),
            timeout_s=self.timeout_s,
        )
        code = done.returncode
        if code not in (0, FINDINGS_EXIT):
            what = _FAILURES.get(code, "unexpected exit code")
            raise failure(TOOL, name, code, what, done.stderr + "\n" + done.stdout)
        if not output.exists():
            raise failure(TOOL, name, code, "no --save-json report was written", done.stderr)
        try:
            report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise failure(TOOL, name, code, f"invalid JSON report ({error})", "") from error
        return report
