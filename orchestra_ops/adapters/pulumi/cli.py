"""The Pulumi CLI: where it is found (PATH, else the ``make pulumi`` cache), the
Automation API's handle on it, and the environment every call of it gets."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi.automation as auto

from orchestra_ops.errors import StackUnavailable, ToolMissing
from orchestra_ops.settings import LambdaCloudSettings, cache_home

INSTALL_HINT = (
    "No package registry ships the Pulumi CLI (PyPI's `pulumi` is only the SDK): build it "
    "with `make pulumi` (into ~/.cache/orchestra-ops/pulumi, found there without PATH), or "
    "install it from https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com "
    "| sh) and put `pulumi` on PATH; then run `orchestra-ops doctor`"
)
LAUNCHER = "pulumi-resource-pulumi-python"
"""The plugin the engine starts for Python dynamic providers (``make pulumi`` installs ours)."""
CLI_VERSION_FILE = Path(__file__).resolve().parents[3] / "tools" / "pulumi-cli.version"
OFFLINE_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}


@dataclass(frozen=True)
class PulumiCli:
    """The ``pulumi`` executable, where it came from, and the dynamic-provider launcher."""

    executable: Path
    origin: str
    launcher_dir: Path | None = None

    def describe(self) -> str:
        """One line for ``doctor``: the path, its origin, and the launcher (or its absence)."""
        launcher = (
            f"dynamic providers through {self.launcher_dir / LAUNCHER}"
            if self.launcher_dir is not None
            else f"no {LAUNCHER} found, so dynamic providers cannot run (`make pulumi`)"
        )
        return f"{self.executable} (from {self.origin}); {launcher}"


def cache_bin_dir(environ: Mapping[str, str]) -> Path | None:
    """Where ``make pulumi`` installs the pinned CLI (tools/build-pulumi.sh's rules)."""
    version = environ.get("ORCHESTRA_PULUMI_CLI_VERSION") or _pinned_cli_version()
    if not version:
        return None
    cache = environ.get("ORCHESTRA_PULUMI_CACHE")
    base = Path(cache) if cache else cache_home(environ) / "pulumi"
    return base / f"v{version.strip().removeprefix('v')}" / "bin"


def _pinned_cli_version() -> str | None:
    try:
        return CLI_VERSION_FILE.read_text(encoding="utf-8").strip() or None
    except OSError:  # an installed package has no tools/: only PATH counts then
        return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_cli(environ: Mapping[str, str] | None = None) -> PulumiCli | None:
    """``pulumi`` on PATH, else the ``make pulumi`` cache; None when neither has it."""
    env = os.environ if environ is None else environ
    search = env.get("PATH", os.defpath)
    cache = cache_bin_dir(env)
    on_path = shutil.which("pulumi", path=search)
    if on_path is not None:
        executable, origin = Path(on_path), "PATH"
    elif cache is not None and _executable(cache / "pulumi"):
        executable, origin = cache / "pulumi", f"the `make pulumi` cache {cache}"
    else:
        return None
    launcher = shutil.which(LAUNCHER, path=search)
    candidates = [executable.parent, Path(launcher).parent if launcher else None, cache]
    launcher_dir = next(
        (d for d in candidates if d is not None and _executable(d / LAUNCHER)), None
    )
    return PulumiCli(executable, origin, launcher_dir)


def tool_env(cli: PulumiCli) -> dict[str, str]:
    """What every CLI call needs besides credentials: offline flags, plugins, the interpreter.

    PATH leads with the CLI's directory (its own plugins first, as the CLI expects), then
    the launcher's, then this interpreter's (a launcher that runs ``python3`` finds ours).
    """
    dirs = [cli.executable.parent, cli.launcher_dir, Path(sys.executable).parent]
    path = [str(d) for d in dirs if d is not None]
    path += os.environ.get("PATH", os.defpath).split(os.pathsep)
    return {
        **OFFLINE_ENV,
        "PULUMI_PYTHON": sys.executable,
        "PATH": os.pathsep.join(dict.fromkeys(p for p in path if p)),
    }


@functools.cache
def pulumi_command(executable: Path) -> auto.PulumiCommand:
    """The Automation API's handle on ``executable`` (its version is checked once)."""
    # Found on PATH outside a bin/ directory: run by name, as PATH resolves it.
    root = str(executable.parent.parent) if executable.parent.name == "bin" else None
    try:
        return auto.PulumiCommand(root=root)
    except (OSError, subprocess.SubprocessError, auto.InvalidVersionError) as error:
        raise StackUnavailable(
            f"`{executable} version` failed ({error}); reinstall the CLI. {INSTALL_HINT}"
        ) from error


def missing_cli(disables: str) -> ToolMissing:
    """The ToolMissing raised when :func:`find_cli` finds nothing."""
    return ToolMissing("pulumi (the Pulumi CLI)", disables=disables, install_hint=INSTALL_HINT)


def provider_environment(lambda_cloud: LambdaCloudSettings) -> dict[str, str]:
    """The settings the dynamic providers read, as their plugin process's environment.

    The plugin runs in the project directory, where a ``.env`` of the worker's directory
    is not found; the composition root hands the engine the settings it already read.
    """
    env = {
        LambdaCloudSettings.env_name("api_url"): lambda_cloud.api_url,
        LambdaCloudSettings.env_name("timeout_s"): str(lambda_cloud.timeout_s),
    }
    if lambda_cloud.api_key is not None:
        env[LambdaCloudSettings.env_name("api_key")] = lambda_cloud.api_key.get_secret_value()
    return env
