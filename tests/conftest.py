"""Test-wide set-up: an isolated Prefect home, analytics off, one Prefect harness per session."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest

from tests.prefect_server_settings import TASK_RUN_RECORDER_BATCHES

# Before anything imports prefect: a private home, no network calls, a generous start-up.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="orchestra-ops-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.update(TASK_RUN_RECORDER_BATCHES)  # the harness server inherits them

# The real credential variables must not leak into tests from the developer's shell.
# ORCHESTRA_SOAK (`make chaos`) is the suite's own switch, not a credential: it stays.
for _name in list(os.environ):
    if _name.startswith(("VERCEL_", "LAMBDA_LABS_", "PULUMI_", "ORCHESTRA_")):
        if _name != "ORCHESTRA_SOAK":
            del os.environ[_name]
# Rollback backups are encrypted with a key made for this test session, never the user's.
os.environ["ORCHESTRA_STATE_KEY_FILE"] = str(_PREFECT_HOME / "state.key")
# Preflight builds are kept for this run only, shared by its xdist workers (children of the
# run's process): the first test of given sources builds them, the next ones reuse it.
_RUN = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
_BUILD_CACHE = Path(tempfile.gettempdir()) / f"orchestra-builds-{_RUN}"
os.environ["ORCHESTRA_BUILD_CACHE_DIR"] = str(_BUILD_CACHE)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's build cache goes with the run (removed once, by xdist's controller)."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(_BUILD_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database shared by every test that runs flows.

    Prefect's harness makes its database in a fresh ``mkdtemp()`` directory; handing it one
    that already holds a migrated ``prefect-test.db`` saves the server its migrations.
    """
    from prefect.testing import utilities

    from tests.prefect_database import migrated_database

    def migrated_directory() -> str:
        directory = tempfile.mkdtemp(prefix="orchestra-ops-prefect-db-")
        migrated_database(Path(directory) / "prefect-test.db")
        return directory

    with mock.patch.object(utilities, "mkdtemp", migrated_directory):
        with utilities.prefect_test_harness(server_startup_timeout=120):
            yield


#: Test folders by how long their modules run, longest first: a parallel run that starts
#: them last ends with one worker busy and the others idle (the Makefile turns off xdist's
#: own reordering, which puts modules with many short tests first).
_LONGEST_FIRST = ("e2e", "chaos", "flows", "sandbox", "adapters")


def _weight(item: pytest.Item) -> tuple[int, int]:
    """The folder's rank, then the larger module first (size stands in for run time: in
    `make test-fast` the largest unit module, `unit/test_recover.py`, started last and ran
    alone)."""
    path = Path(str(item.path))
    folder = path.relative_to(Path(__file__).parent).parts[0]
    rank = _LONGEST_FIRST.index(folder) if folder in _LONGEST_FIRST else len(_LONGEST_FIRST)
    return rank, -_size(path)


@functools.cache
def _size(path: Path) -> int:
    return path.stat().st_size


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the Prefect server, so `make test-fast` can leave them out;
    order the modules longest first (a stable sort keeps each module's tests together)."""
    items.sort(key=_weight)
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.prefect_server)
