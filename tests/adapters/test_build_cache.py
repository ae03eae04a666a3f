"""The build cache's key and entries, without node: what changes the key, what is kept."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from orchestra_ops.adapters import build_cache
from orchestra_ops.adapters.build_cache import BuildCache, build_key
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import Clients

COMMANDS = [["/usr/bin/npm", "ci"], ["/usr/bin/npm", "run", "build"]]


def _tree(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text('{"scripts": {"build": "vite build"}}')
    (root / "package-lock.json").write_text("{}")
    (root / "src" / "main.js").write_text("console.log(1)")
    return root


def _key(root: Path, env: dict[str, str] | None = None, extra: str = "vite\0dist") -> str | None:
    return build_key(root, COMMANDS, {"HOME": str(root.parent / "home"), **(env or {})}, extra)


def test_the_key_is_the_inputs_not_where_they_are(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one")
    two = Path(shutil.copytree(one, tmp_path / "two"))
    assert _key(one) == _key(two)


@pytest.mark.parametrize(
    "change",
    ["content", "new file", "renamed", "executable", "symlink", "lockfile"],
)
def test_every_input_of_the_tree_changes_the_key(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path / "app")
    before = _key(root)
    main = root / "src" / "main.js"
    if change == "content":
        main.write_text("console.log(2)")
    elif change == "new file":
        (root / "src" / "extra.js").write_text("")
    elif change == "renamed":
        main.rename(root / "src" / "index.js")
    elif change == "executable":
        main.chmod(0o755)
    elif change == "symlink":
        (root / "link").symlink_to("src")
        before = _key(root)
        (root / "link").unlink()
        (root / "link").symlink_to("package.json")
    else:
        (root / "package-lock.json").write_text('{"lockfileVersion": 3}')
    assert _key(root) != before


def test_commands_environment_framework_and_node_change_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "app")
    base = _key(root)
    assert _key(root, {"VITE_API": "https://a"}) != base
    assert _key(root, {"VITE_API": "https://a"}) != _key(root, {"VITE_API": "https://b"})
    assert _key(root, extra="vite\0build") != base
    assert build_key(root, [["/usr/bin/npm", "ci"], ["/usr/bin/npm", "run", "b"]], {}, "") != (
        build_key(root, COMMANDS, {}, "")
    )
    monkeypatch.setattr(build_cache, "node_version", lambda node, cwd, env: "v99.0.0")
    assert _key(root) != base


@pytest.mark.parametrize("config", [".npmrc", ".yarnrc.yml", ".config/pnpm/rc"])
def test_a_package_managers_user_config_changes_the_key(tmp_path: Path, config: str) -> None:
    root = _tree(tmp_path / "app")
    base = _key(root)
    (tmp_path / "home" / config).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "home" / config).write_text("omit=dev\n")
    assert _key(root) != base


def test_a_tree_with_a_symlink_that_leaves_it_has_no_key(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app")
    (tmp_path / "shared.js").write_text("export const theme = 'BLUE'")
    (root / "src" / "theme.js").symlink_to(tmp_path / "shared.js")
    assert _key(root) is None
    (root / "src" / "theme.js").unlink()
    (root / "src" / "theme.js").symlink_to("main.js")  # inside: its text is in the key
    assert _key(root) is not None


def test_a_file_name_that_is_not_utf8_is_keyed(tmp_path: Path) -> None:
    root = _tree(tmp_path / "app")
    base = _key(root)
    (root / os.fsdecode(b"notes-\xff.txt")).write_text("junk")
    assert _key(root) not in (None, base)


def test_a_kept_output_comes_back_whole(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    output = {"dist/index.html": b"<html>", "dist/assets/app.js": b"\x00js"}
    assert cache.get("a" * 64) is None
    cache.put("a" * 64, output)
    kept = cache.get("a" * 64)
    assert kept is not None and kept.output == output and kept.built_at
    assert cache.put("a" * 64, {"dist/index.html": b"other"}) is None  # the first one stays
    assert cache.get("a" * 64) == kept
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["a" * 64]  # nothing staged left


@pytest.mark.parametrize("output", [{}, {"../escape.html": b"x"}, {"/etc/passwd": b"x"}])
def test_an_empty_or_escaping_output_is_not_kept(tmp_path: Path, output: dict[str, bytes]) -> None:
    cache = BuildCache(tmp_path / "cache")
    cache.put("b" * 64, output)
    assert cache.get("b" * 64) is None
    assert not (tmp_path / "escape.html").exists()


@pytest.mark.parametrize("damage", ["file gone", "file emptied", "not json", "path escapes"])
def test_a_damaged_entry_is_a_miss_and_makes_room(tmp_path: Path, damage: str) -> None:
    cache = BuildCache(tmp_path / "cache")
    output = {"dist/index.html": b"<html>", "dist/app.js": b"js"}
    assert cache.put("c" * 64, output) is None
    entry = tmp_path / "cache" / ("c" * 64)
    if damage == "file gone":
        (entry / "output" / "dist" / "app.js").unlink()
    elif damage == "file emptied":
        (entry / "output" / "dist" / "app.js").write_bytes(b"")
    elif damage == "not json":
        (entry / "build.json").write_text("{not json")
    else:
        (entry / "build.json").write_text('{"files": {"../../outside": "0"}}')
    assert cache.get("c" * 64) is None  # built again, never a damaged output
    assert not entry.exists()
    assert cache.put("c" * 64, output) is None  # the next build is kept in its place
    kept = cache.get("c" * 64)
    assert kept is not None and kept.output == output


def test_a_cache_that_cannot_be_written_says_why_and_keeps_nothing(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    cache = BuildCache(tmp_path / "a-file" / "builds")
    said = cache.put("d" * 64, {"index.html": b"x"})
    assert said is not None and "a-file" in said
    assert cache.get("d" * 64) is None


def test_a_killed_writers_staging_is_removed_after_an_hour(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    fresh, stale = tmp_path / "cache" / ".aaaa-fresh", tmp_path / "cache" / ".aaaa-stale"
    for staged in (fresh, stale):
        (staged / "output").mkdir(parents=True)
    old = time.time() - build_cache.STALE_STAGING_S - 60
    os.utime(stale, (old, old))
    cache.put("e" * 64, {"index.html": b"x"})
    assert fresh.exists() and not stale.exists()


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    keys = [f"{n:064x}" for n in range(build_cache.KEEP + 3)]
    for age, key in enumerate(keys):
        cache.put(key, {"index.html": key.encode()})
        os.utime(tmp_path / "cache" / key, (age, age))
    cache.put("f" * 64, {"index.html": b"newest"})
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(kept) == build_cache.KEEP
    assert "f" * 64 in kept and keys[0] not in kept and keys[-1] in kept


def test_an_empty_cache_directory_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_BUILD_CACHE_DIR", "")
    assert Clients(load_settings(None)).build_cache() is None
    monkeypatch.setenv("ORCHESTRA_BUILD_CACHE_DIR", str(tmp_path))
    cache = Clients(load_settings(None)).build_cache()
    assert cache is not None and cache.directory == tmp_path
