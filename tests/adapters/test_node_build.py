"""The preflight build of workspace members, for real: install at the root, build the member.

Runs npm (and pnpm through ``npm exec`` at the version ``packageManager`` pins) against
the registry or the npm cache; a few seconds each once the cache is warm.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters.app_source import find_workspace, read_app_texts
from orchestra_ops.adapters.node_build import preflight_build
from orchestra_ops.domain.frontend.detect import detect_app

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
