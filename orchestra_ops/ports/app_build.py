"""The app-build port: install and build a frontend app with its new configuration, in a
copy, before anything is deployed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from orchestra_ops.domain.frontend.detect import AppProfile


@dataclass(frozen=True)
class BuildOutcome:
    """What the preflight build did; ``output`` is the static output (path -> bytes)."""

    status: str  # "built", "reused" (a kept build of the same inputs) or "skipped"
    detail: str
    output: dict[str, bytes] = field(default_factory=dict, repr=False)


class AppBuild(Protocol):
    """Builds an app as its profile says; ConfigError when the build fails."""

    def preflight(
        self,
        app_dir: Path,
        profile: AppProfile,
        overrides: Mapping[str, str],
        build_env: Mapping[str, str],
        work_dir: Path,
    ) -> BuildOutcome:
        """Copy the app into ``work_dir``, write ``overrides`` (path -> text) there, then
        install and build with ``build_env``; a skipped build says why."""
        ...
