"""Atomic file replacement: the old or the new bytes, the right mode, nothing left staged."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from orchestra_ops.adapters.files import append_line, discard_temp, temp_path, write_atomically


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_and_bytes_replace_the_file_and_leave_nothing_staged(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "file.txt"
    write_atomically(path, "first ✓\n")
    write_atomically(path, b"second\n", durable=True)
    assert path.read_bytes() == b"second\n"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]


def test_a_script_stays_executable(tmp_path: Path) -> None:
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    write_atomically(script, "#!/bin/sh\ncd ../backend\n")
    assert _mode(script) == 0o755


def test_a_private_file_is_0600_even_over_a_stale_staged_file(tmp_path: Path) -> None:
    """A kill left a world-readable staged file: the secret is not written into its mode."""
    secret = tmp_path / "state.key"
    stale = temp_path(secret)
    stale.write_text("half")
    stale.chmod(0o644)
    write_atomically(secret, "k3y", private=True)
    assert _mode(secret) == 0o600 and secret.read_text() == "k3y"
    assert not stale.exists()


def test_discard_temp_removes_what_a_killed_write_left(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.yaml"
    temp_path(path).write_text("half written")
    discard_temp(path)
    discard_temp(path)  # nothing there: no error
    assert not temp_path(path).exists()


def test_a_write_that_fails_leaves_no_staged_copy(tmp_path: Path) -> None:
    """The staged bytes may be a secret: a failed rename removes them before it raises."""
    target = tmp_path / "endpoints.json"
    (target / "occupied").mkdir(parents=True)  # a non-empty directory cannot be replaced
    with pytest.raises(OSError):
        write_atomically(target, "token=secret", private=True)
    assert not temp_path(target).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["endpoints.json"]


def test_appended_lines_from_many_writers_stay_whole(tmp_path: Path) -> None:
    """The ledger's and the journal's one writer: parents made, lines never interleaved."""
    log = tmp_path / "new" / "dir" / "log.jsonl"

    def write(writer: int) -> None:
        for n in range(50):
            append_line(log, f"{writer}:{n}:{'x' * 512}\n", durable=False, locked=True)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = log.read_text().splitlines()
    assert sorted(lines) == sorted(f"{w}:{n}:{'x' * 512}" for w in range(8) for n in range(50))
