"""A Prefect database already at its newest migration, copied for each test server.

A fresh SQLite database costs a Prefect server about 10 s of migrations at start-up, and
the suite starts one per xdist worker (the harness) and one per end-to-end stack. The
migrated database is made once per Prefect version, in a cache outside the repository
(``~/.cache/orchestra-ops/prefect-db``), and each server starts on a copy of it: the
server still checks the migrations at start and finds nothing to do.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import prefect

_CACHE = Path.home() / ".cache" / "orchestra-ops" / "prefect-db" / prefect.__version__
_PREFECT = str(Path(sys.executable).parent / "prefect")


def migrated_database(path: Path) -> Path:
    """A copy of the migrated database at ``path`` (its directory made); ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(), path)
    return path


def server_home(home: Path) -> Path:
    """A PREFECT_HOME whose default database (``prefect.db``) is already migrated."""
    migrated_database(home / "prefect.db")
    return home


def _template() -> Path:
    template = _CACHE / "prefect.db"
    if template.exists():
        return template
    _CACHE.mkdir(parents=True, exist_ok=True)
    with (_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker migrates, the others wait
        if template.exists():
            return template
        with tempfile.TemporaryDirectory(dir=_CACHE) as scratch:
            database = Path(scratch) / "prefect.db"
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
            env.update(
                PREFECT_HOME=scratch,
                PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{database}",
            )
            done = subprocess.run(
                [_PREFECT, "server", "database", "upgrade", "-y"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0:
                raise RuntimeError(f"prefect server database upgrade failed:\n{done.stdout}")
            connection = sqlite3.connect(database)
            try:  # the write-ahead log folded into the one file that is copied
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            os.replace(database, template)
    return template
