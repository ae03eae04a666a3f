"""`recover`'s stuck-run check against a Prefect server that does not answer."""

from __future__ import annotations

import socket

from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestra_ops.recover import check_runs
from orchestra_ops.recover_pending import UNCHECKED


def _dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dead_prefect_server_is_named_by_its_url_without_credentials() -> None:
    port = _dead_port()
    url = f"http://operator:hunter2-secret@127.0.0.1:{port}/api"
    with temporary_settings({PREFECT_API_URL: url}):
        check = check_runs(300.0, mark=False, dry_run=False)
    assert check.status == UNCHECKED
    assert f"the Prefect server at http://127.0.0.1:{port}/api (PREFECT_API_URL): " in check.note
    assert "hunter2-secret" not in check.note and "operator" not in check.note
