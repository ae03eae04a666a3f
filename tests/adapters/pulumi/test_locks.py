"""Locks a killed CLI leaves: a zombie holds nothing, a live process or another host does."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from orchestra_ops.adapters.pulumi.locks import (
    left_by_a_dead_process_here,
    lock_files,
    remove_lock,
    torn_sidecars,
)
from tests.adapters.pulumi.test_engine import dead_pid, plant_lock


def test_a_zombie_cli_holds_no_lock(tmp_path: Path) -> None:
    """A CLI killed with its worker is a zombie until its new parent reaps it."""
    here = socket.gethostname()
    child = subprocess.Popen(["true"])  # exits at once; not reaped until wait()
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        zombie = plant_lock(tmp_path, "orchestra-backend", "dev", child.pid, here)
        assert left_by_a_dead_process_here(zombie)
    finally:
        child.wait()
    live = plant_lock(tmp_path, "orchestra-backend", "dev", os.getpid(), here)
    elsewhere = plant_lock(tmp_path, "orchestra-backend", "dev", dead_pid(), "another-host")
    assert not left_by_a_dead_process_here(live)
    assert not left_by_a_dead_process_here(elsewhere)
    assert set(lock_files(tmp_path.as_uri(), "orchestra-backend", "dev")) == {
        zombie,
        live,
        elsewhere,
    }


def test_a_lock_file_that_is_not_a_lock_is_never_taken_for_stale(tmp_path: Path) -> None:
    odd = plant_lock(tmp_path, "orchestra-backend", "dev", 1, socket.gethostname())
    for text in ("[1, 2]", "{", '{"pid": "12", "hostname": "x"}'):
        odd.write_text(text)
        assert not left_by_a_dead_process_here(odd)


def test_torn_checkpoint_sidecars_are_found_unless_a_live_update_holds_the_stack(
    tmp_path: Path,
) -> None:
    stacks = tmp_path / ".pulumi" / "stacks" / "orchestra-backend"
    stacks.mkdir(parents=True)
    torn, cut, whole = (stacks / f"dev.json{tail}.attrs" for tail in ("", ".bak", ".gz"))
    torn.write_text("")
    cut.write_text('{"user.content_type": "appl')
    whole.write_text('{"user.content_type": "application/json"}\n')
    (stacks / "prod.json.attrs").write_text("")  # another stack's
    url = tmp_path.as_uri()
    assert torn_sidecars(url, "orchestra-backend", "dev") == sorted([cut, torn])
    assert torn_sidecars(url, "orchestra-backend", "organization/orchestra-backend/dev")
    assert torn_sidecars("s3://bucket", "orchestra-backend", "dev") == []
    live = plant_lock(tmp_path, "orchestra-backend", "dev", os.getpid(), socket.gethostname())
    assert torn_sidecars(url, "orchestra-backend", "dev") == []  # it is writing them
    Path(f"{live}.attrs").write_text("{}")
    remove_lock(live)
    assert not live.exists() and not Path(f"{live}.attrs").exists()
    assert len(torn_sidecars(url, "orchestra-backend", "dev")) == 2
