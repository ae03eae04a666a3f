"""The preflight build of workspace members, for real: install at the root, build the member.

Runs npm (and pnpm through ``npm exec`` at the version ``packageManager`` pins) against
the registry or the npm cache; a few seconds each once the cache is warm.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters.app_source import find_workspace, read_app_texts
from orchestra_ops.adapters.build_cache import BuildCache
from orchestra_ops.adapters.node_build import preflight_build
from orchestra_ops.domain.frontend.detect import detect_app
from orchestra_ops.errors import ConfigError
from orchestra_ops.ports.app_build import BuildOutcome

CORPUS = Path(__file__).resolve().parents[1] / "frontend_corpus"

pytestmark = [
    pytest.mark.node,
    pytest.mark.slow,  # real npm installs and builds, or the SDK's node process: 10-30 s
    pytest.mark.skipif(shutil.which("npm") is None, reason="node and npm are not on PATH"),
]


@pytest.mark.parametrize(
    ("repo", "app", "bundle"),
    [
        ("npm-workspace", "apps/web", "dist/index.html"),
        ("pnpm-workspace", "apps/board", "public-build/index.html"),
    ],
)
def test_a_workspace_member_builds_at_its_root(
    repo: str, app: str, bundle: str, tmp_path: Path
) -> None:
    """The root's lockfile installs; the member's build output comes back, the repo untouched."""
    root = Path(shutil.copytree(CORPUS / repo, tmp_path / repo))
    profile = detect_app(app, read_app_texts(root / app), find_workspace(root, root / app))
    outcome = preflight_build(root / app, profile, {}, {}, tmp_path / "work")
    assert outcome.status == "built", outcome.detail
    assert f"at the workspace root of {app}" in outcome.detail
    assert b'<script type="module" crossorigin src="/assets/' in outcome.output[bundle]
    assert not (root / "node_modules").exists()  # built in the copy


def test_a_kept_build_is_reused_only_for_the_same_inputs(tmp_path: Path) -> None:
    """The second build of the same sources reuses the first (nothing installed), and says
    so; a changed source builds again; a failed build is never kept."""
    root = Path(shutil.copytree(CORPUS / "npm-workspace", tmp_path / "repo"))
    app = "apps/web"
    profile = detect_app(app, read_app_texts(root / app), find_workspace(root, root / app))
    cache = BuildCache(tmp_path / "cache")

    def build(work: str, env: dict[str, str] | None = None) -> tuple[BuildOutcome, Path]:
        outcome = preflight_build(root / app, profile, {}, env or {}, tmp_path / work, cache=cache)
        return outcome, tmp_path / work / profile.name.replace("/", "_") / "node_modules"

    first, installed = build("first")
    assert installed.is_dir() and first.status == "built", first
    again, installed = build("again")
    assert not installed.exists(), "the kept build was installed again"
    assert again.status == "reused" and "install and build not run" in again.detail, again
    assert again.output == first.output
    other_env, installed = build("env", {"VITE_FLAG": "on"})
    assert installed.is_dir() and other_env.status == "built", other_env
    (root / app / "src" / "main.js").write_text("this is not javascript(", encoding="utf-8")
    for work in ("broken", "broken-again"):  # failed twice: a failure is built every time
        with pytest.raises(ConfigError, match="would break the build"):
            build(work)
        assert (tmp_path / work / profile.name.replace("/", "_") / "node_modules").is_dir()
