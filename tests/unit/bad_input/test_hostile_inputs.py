"""Inputs a new user's repository threw at the product: each refused by name, fast, cleanly.

Every case must end in a ConfigError (or a parameter error) that names the file or key,
in under a second, before any API call, and leave no temporary tree behind.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from flows.frontend_migration import FrontendMigrationParams
from orchestra_ops.adapters.app_source import check_deploy_set
from orchestra_ops.errors import ConfigError
from tasks.stack_files import load_backend_config

BOMB = "config:\n  orchestra-backend:count: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  k{n}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(9)
)


@pytest.fixture
def temp_dirs() -> Iterator[Callable[[], set[str]]]:
    """Names in the system temp directory now; the test compares after the refusal."""
    root = Path(tempfile.gettempdir())

    def names() -> set[str]:
        return {p.name for p in root.iterdir() if p.name.startswith("orchestra-")}

    yield names


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "site"
    (app / "src").mkdir(parents=True)
    (app / "index.html").write_text("<html>site</html>")
    return app


def _refused(check: Callable[[], object], *named: str) -> str:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        check()
    assert time.monotonic() - started < 1.0, "a small bad input must be refused at once"
    message = str(caught.value)
    for name in named:
        assert name in message, message
    return message


def test_a_yaml_alias_bomb_in_a_stack_config_is_refused_at_once(tmp_path: Path) -> None:
    """A few hundred bytes that expand to 9^10 values: refused before anything walks them."""
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / "Pulumi.dev.yaml").write_text(BOMB)
    message = _refused(lambda: load_backend_config.fn(backend, "dev", {}), "Pulumi.dev.yaml")
    assert "alias bomb" in message


def test_a_directory_symlink_cycle_is_named(
    tmp_path: Path, temp_dirs: Callable[[], set[str]]
) -> None:
    """src/loop -> .. : refused by name, no deep temporary tree."""
    app = _app(tmp_path)
    (app / "src" / "loop").symlink_to("..")
    before = temp_dirs()
    _refused(lambda: check_deploy_set(app), "src/loop", "cycle")
    assert temp_dirs() == before


def test_a_file_name_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """A Latin-1 file name: the error shows it (with a replacement character)."""
    app = _app(tmp_path)
    with open(os.fsencode(app) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"x")
    _refused(lambda: check_deploy_set(app), "caf", "not UTF-8")


def test_a_newline_in_a_file_name_is_refused(tmp_path: Path) -> None:
    """Vercel paths cannot carry control characters; the name is shown escaped."""
    app = _app(tmp_path)
    (app / "src" / "a\nb.js").write_text("x")
    _refused(lambda: check_deploy_set(app), r"src/a\nb.js", "control character")


def test_a_file_over_50_mb_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    """A sparse 60 MB file: refused by its size alone."""
    app = _app(tmp_path)
    with open(app / "video.mp4", "wb") as handle:
        handle.truncate(60 * 1024 * 1024)
    _refused(lambda: check_deploy_set(app), "video.mp4", "50 MB")


@pytest.mark.parametrize("key", ["VITE_ÄPI", "1ST", "A-B", "A B", ""])
def test_env_keys_must_be_ascii_identifiers(key: str) -> None:
    """A key Vercel and shells refuse is refused as a parameter, naming it."""
    with pytest.raises(ValidationError) as caught:
        FrontendMigrationParams(
            repo_path="/srv/repo",
            app="admin",
            project="admin",
            backend_api_url="https://api.example.com",
            env_overrides={key: "x"},
        )
    assert repr(key) in str(caught.value)
