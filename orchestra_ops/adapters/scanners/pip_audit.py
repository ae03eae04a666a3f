"""pip-audit against an OSV API (``-s osv --osv-url``), one requirements file per run.

Exit codes (pip-audit 2.10): 0 is clean; 1 is *either* findings *or* a failure. The JSON
report (``-o``) is written only when the audit completed, so "1 with a valid report"
means findings and "1 without one" means the tool failed (feed down, HTTP error, a
``--strict`` skip). Only fully pinned files are audited (``--no-deps --disable-pip``: no
resolver, no index, only the OSV feed); the scan writes them from each manifest's exact
pins (:mod:`.prepare`), and lists every other line as not checked.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from orchestra_ops.adapters.scanners._process import failure, run_tool, tool_env
from orchestra_ops.domain.security.manifests import parse_requirements, unpinned
from orchestra_ops.errors import ScanError
from orchestra_ops.settings import ScanSettings

TOOL = "pip-audit"


def sibling_executable(name: str) -> Path:
    """A console script installed next to the running interpreter (the project's venv)."""
    return Path(sys.executable).parent / name


class PipAuditRunner:
    """Runs pip-audit on requirements files and returns its JSON report."""

    def __init__(
        self,
        osv_api_url: str,
        workdir: Path,
        *,
        timeout_s: float = 120.0,
        executable: Path | None = None,
    ) -> None:
        self.osv_api_url = osv_api_url.rstrip("/")
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.executable = executable or sibling_executable("pip-audit")

    @classmethod
    def from_settings(cls, settings: ScanSettings, workdir: Path, **kwargs: Any) -> PipAuditRunner:
        """A runner for the OSV API of ``settings``."""
        return cls(settings.osv_api_url, workdir, **kwargs)

    def command(self, requirements: Path, output: Path, cache: Path) -> list[str]:
        """The pip-audit command line for one fully pinned requirements file."""
        args = [str(self.executable), "-s", "osv", "--osv-url", f"{self.osv_api_url}/v1/query"]
        args += ["--strict", "-r", str(requirements), "--no-deps", "--disable-pip"]
        args += ["-f", "json", "-o", str(output), "--cache-dir", str(cache)]
        return [*args, "--progress-spinner", "off"]

    def check_pinned(self, requirements: Path, manifest: str) -> None:
        """ScanError naming the lines that are not ``==`` pins (pip-audit would refuse them)."""
        text = requirements.read_text(encoding="utf-8")
        loose = unpinned(parse_requirements(text, manifest))
        if loose:
            named = ", ".join(
                f"line {p.line}: {p.name}{p.operator or ''}{p.version or ''}" for p in loose
            )
            raise ScanError(
                f"{TOOL}: {manifest} is not fully pinned ({named}); pass only exact pins "
                "(the scan writes them from the manifest and lists the other lines)"
            )

    def audit(self, requirements: Path, manifest: str | None = None) -> dict[str, Any]:
        """pip-audit's JSON report for ``requirements``; ScanError when the run failed."""
        name = manifest or requirements.name
        if not self.executable.exists():
            raise ScanError(f"{TOOL} is not installed at {self.executable}; run `make venv`")
        self.check_pinned(requirements, name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix="pip-audit-", dir=self.workdir))
        output = run_dir / "out.json"
        done = run_tool(
            self.command(requirements.resolve(), output, run_dir / "cache"),
            tool=TOOL,
            manifest=name,
            cwd=requirements.resolve().parent,
            env=tool_env(run_dir / "home", {"PIP_AUDIT_PROGRESS_SPINNER": "off"}),
            timeout_s=self.timeout_s,
        )
        if done.returncode not in (0, 1):
            raise failure(TOOL, name, done.returncode, "unexpected exit code", done.stderr)
        if not output.exists():
            what = "no report was written (the feed failed or a dependency was skipped)"
            raise failure(TOOL, name, done.returncode, what, done.stderr)
        try:
            report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            what = f"invalid JSON report ({error})"
            raise failure(TOOL, name, done.returncode, what, "") from error
        return report
