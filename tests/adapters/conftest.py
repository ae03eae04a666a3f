"""Fixtures shared by the adapter tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestra_ops.sandbox.feeds import Feeds
from orchestra_ops.settings import ScanSettings
from tests.adapters.served_feeds import scan_settings


@pytest.fixture(scope="module")
def feed_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScanSettings]:
    """Scan settings pointing every tool at the sandbox feeds, served for the module."""
    feeds = Feeds()
    db = feeds.write_safety_db(tmp_path_factory.mktemp("safety") / "db")
    with feeds.serve() as served:
        yield scan_settings(served, db)
