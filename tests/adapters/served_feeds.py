"""Scan settings that point every scanner at served sandbox feeds."""

from __future__ import annotations

from pathlib import Path

from orchestra_ops.sandbox.feeds import ServedFeeds
from orchestra_ops.settings import ScanSettings


def scan_settings(served: ServedFeeds, safety_db: Path) -> ScanSettings:
    """pip-audit, safety and npm audit at the served OSV, safety and npm feeds."""
    return ScanSettings(
        _env_file=None,
        osv_api_url=served.osv.url,
        npm_registry_url=served.npm.url,
        safety_db_dir=safety_db,
        safety_auth_server_url=served.safety.url,
    )
