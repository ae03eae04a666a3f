"""The build cache's key and entries, without node: what changes the key, what is kept."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters import build_cache
from orchestra_ops.adapters.build_cache import BuildCache, build_key

COMMANDS = [["/usr/bin/npm", "ci"], ["/usr/bin/npm", "run", "build"]]


def _tree(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "package.json").write_text('{"scripts": {"build": "vite build"}}')
    (root / "package-lock.json").write_text("{}")
    (root / "src" / "main.js").write_text("console.log(1)")
    return root


def _key(root: Path, env: dict[str, str] | None = None, extra: str = "vite\0dist") -> str:
    return build_key(root, COMMANDS, env or {}, extra)


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
    monkeypatch.setattr(build_cache, "node_version", lambda: "v99.0.0")
    assert _key(root) != base


def test_a_kept_output_comes_back_whole(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    output = {"dist/index.html": b"<html>", "dist/assets/app.js": b"\x00js"}
    assert cache.get("a" * 64) is None
    cache.put("a" * 64, output)
    kept = cache.get("a" * 64)
    assert kept is not None and kept.output == output and kept.built_at
    cache.put("a" * 64, {"dist/index.html": b"other"})  # the first one stays
    assert cache.get("a" * 64) == kept
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["a" * 64]  # nothing staged left


@pytest.mark.parametrize("output", [{}, {"../escape.html": b"x"}, {"/etc/passwd": b"x"}])
def test_an_empty_or_escaping_output_is_not_kept(tmp_path: Path, output: dict[str, bytes]) -> None:
    cache = BuildCache(tmp_path / "cache")
    cache.put("b" * 64, output)
    assert cache.get("b" * 64) is None
    assert not (tmp_path / "escape.html").exists()


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    cache.put("c" * 64, {"dist/index.html": b"<html>", "dist/app.js": b"js"})
    (tmp_path / "cache" / ("c" * 64) / "output" / "dist" / "app.js").unlink()
    assert cache.get("c" * 64) is None  # a file short: built again, never half an output
    (tmp_path / "cache" / ("c" * 64) / "build.json").write_text("{not json")
    assert cache.get("c" * 64) is None


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
