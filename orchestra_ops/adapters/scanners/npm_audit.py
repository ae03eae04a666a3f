"""``npm audit --json`` against a registry, run in the directory of one package-lock.json.

Exit codes: 0 nothing found, 1 findings *or* failure. The JSON tells them apart: a
document with ``vulnerabilities`` is a report; a top-level ``error``/``message`` without
``vulnerabilities`` is a failure (ENOLOCK without a lockfile, ECONNREFUSED, HTTP 5xx).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.scanners._process import failure, run_tool, tail, tool_env
from orchestra_ops.errors import ScanError, ToolMissing
from orchestra_ops.settings import ScanSettings

TOOL = "npm audit"


def _error_text(report: dict[str, Any]) -> str:
    error = report.get("error")
    parts = []
    if isinstance(error, dict):
        parts += [str(error.get(k)) for k in ("code", "summary") if error.get(k)]
    if report.get("message"):
        parts.append(str(report["message"]))
    return "; ".join(parts) or "npm reported an error without a message"


class NpmAuditRunner:
    """Runs ``npm audit`` on a lockfile's project and returns its JSON report (version 2)."""

    def __init__(
        self,
        registry_url: str,
        workdir: Path,
        *,
        timeout_s: float = 120.0,
        npm: str | None = None,
    ) -> None:
        self.registry_url = registry_url.rstrip("/")
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.npm = npm

    @classmethod
    def from_settings(cls, settings: ScanSettings, workdir: Path, **kwargs: Any) -> NpmAuditRunner:
        """A runner for the npm registry of ``settings``."""
        return cls(settings.npm_registry_url, workdir, **kwargs)

    def executable(self) -> str:
        """The npm program: the one given, else ``npm`` on PATH; ToolMissing otherwise."""
        found = self.npm or shutil.which("npm")
        if found is None:
            raise ToolMissing(
                "npm",
                disables="npm audit of package-lock.json files",
                install_hint="Install Node.js 20 and npm (Debian: `apt-get install nodejs npm`).",
            )
        return found

    def command(self, cache: Path) -> list[str]:
        """The npm command line (run in the lockfile's directory)."""
        return [
            self.executable(),
            *("audit", "--json", "--registry", f"{self.registry_url}/"),
            *("--cache", str(cache)),
        ]

    def audit(self, lockfile: Path, manifest: str | None = None) -> dict[str, Any]:
        """npm's audit report for the project of ``lockfile``; ScanError when npm failed."""
        name = manifest or lockfile.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="npm-audit-", dir=self.workdir))
        done = run_tool(
            self.command(run_dir / "cache"),
            tool=TOOL,
            manifest=name,
            cwd=lockfile.resolve().parent,
            env=tool_env(run_dir / "home", {"npm_config_update_notifier": "false"}),
            timeout_s=self.timeout_s,
        )
        try:
            report = json.loads(done.stdout)
        except json.JSONDecodeError as error:
            what = "the output is not JSON"
            raise failure(TOOL, name, done.returncode, what, done.stderr) from error
        if not isinstance(report, dict):
            raise failure(TOOL, name, done.returncode, "the output is not an object", "")
        if "vulnerabilities" not in report:
            raise ScanError(
                f"{TOOL} failed on {name} (exit {done.returncode}): {tail(_error_text(report))}"
            )
        if done.returncode not in (0, 1):
            raise failure(TOOL, name, done.returncode, "unexpected exit code", done.stderr)
        return report
