"""Reading an app from disk, the deploy file set, and the preflight build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters.app_source import deploy_files, read_app_texts
from orchestra_ops.adapters.node_build import preflight_build, redact
from orchestra_ops.domain.frontend.detect import detect_app
from orchestra_ops.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orchestra-main"
HAS_NODE = shutil.which("npm") is not None and shutil.which("node") is not None


@pytest.fixture
def admin(tmp_path: Path) -> Path:
    target = tmp_path / "admin-interface"
    shutil.copytree(EXAMPLE / "admin-interface", target)
    return target


def test_deploy_set_skips_ignored_secret_and_linked_files(admin: Path, tmp_path: Path) -> None:
    """node_modules, .env with values, ignored output and symlinks never ship."""
    (admin / "node_modules" / "vite").mkdir(parents=True)
    (admin / "node_modules" / "vite" / "index.js").write_text("x")
    (admin / ".env.production").write_text("VITE_ADMIN_API_KEY=s3cr3t\n")
    (admin / "dist").mkdir()
    (admin / "dist" / "index.html").write_text("built")
    (tmp_path / "outside.txt").write_text("not ours")
    os.symlink(tmp_path / "outside.txt", admin / "link.txt")
    files = deploy_files(admin)
    assert {"package.json", "package-lock.json", "index.html", "src/main.ts"} <= set(files)
    assert ".env.example" in files
    assert not [p for p in files if p.startswith(("node_modules/", "dist/"))]
    assert ".env.production" not in files and "link.txt" not in files
    assert files["package.json"] == (admin / "package.json").read_bytes()


def test_vercelignore_wins_over_gitignore(admin: Path) -> None:
    """With a .vercelignore, it alone decides (plus the fixed exclusions)."""
    (admin / ".vercelignore").write_text("*.md\nsrc/settings.ts\n")
    (admin / "NOTES.md").write_text("n")
    files = deploy_files(admin)
    assert "NOTES.md" not in files
    assert "src/settings.ts" not in files
    assert "src/main.ts" in files


def test_read_app_texts_takes_configs_env_files_and_lockfile_names(admin: Path) -> None:
    """Detection input: package.json, configs, Dockerfile, .env*, lockfile presence."""
    texts = read_app_texts(admin)
    assert {"package.json", "vite.config.ts", "Dockerfile", ".env.example"} <= set(texts)
    assert texts["package-lock.json"] == ""
    with pytest.raises(ConfigError, match="not a directory"):
        read_app_texts(admin / "missing")


def test_redact_hides_secret_values() -> None:
    """Build logs that echo the environment lose the values."""
    assert redact("token=abcd1234 ok", ["abcd1234", "x"]) == "token=*** ok"


def test_preflight_is_skipped_by_name_without_npm(
    admin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No node on PATH: a named skip with the reason, never a pass."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    profile = detect_app("admin-interface", read_app_texts(admin))
    outcome = preflight_build(admin, profile, {}, {}, tmp_path / "work")
    assert outcome.status == "skipped"
    assert "not on PATH" in outcome.detail


@pytest.mark.node
@pytest.mark.slow
@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_preflight_builds_with_new_config_and_returns_output(admin: Path, tmp_path: Path) -> None:
    """The admin app builds in a copy; the target stays untouched; dist comes back."""
    profile = detect_app("admin-interface", read_app_texts(admin))
    before = sorted(p.name for p in admin.iterdir())
    outcome = preflight_build(
        admin, profile, {"vercel.json": "{}"}, {"VITE_API_URL": "http://x"}, tmp_path / "work"
    )
    assert outcome.status == "built"
    assert "dist/index.html" in outcome.output
    assert sorted(p.name for p in admin.iterdir()) == before


@pytest.mark.node
@pytest.mark.slow
@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_preflight_failure_shows_the_log_without_secrets(admin: Path, tmp_path: Path) -> None:
    """A broken config fails the preflight with the build's last lines, redacted."""
    profile = detect_app("admin-interface", read_app_texts(admin))
    broken = {"src/main.ts": "const leaked: number = 'canary-9f9f-SECRET'\n"}
    with pytest.raises(ConfigError) as caught:
        preflight_build(
            admin, profile, broken, {"VITE_ADMIN_API_KEY": "canary-9f9f-SECRET"}, tmp_path / "w"
        )
    assert "preflight `npm run build` failed" in str(caught.value)
    assert "canary-9f9f-SECRET" not in str(caught.value)
