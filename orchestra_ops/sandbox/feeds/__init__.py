"""The advisory feeds the real scanners run against: OSV API, safety stub, npm registry.

:class:`Feeds` builds all three, each behind its own fault plan and request log, so a test
can make one feed answer 500 while the others keep working::

    feeds = Feeds()
    with feeds.serve() as served:
        feeds.osv.plan.inject(r"/v1/query", status=500, count=None)
        ...  # pip-audit --osv-url {served.osv.url}/v1/query

Each feed also satisfies the admin Protocol (``plan``, ``log``, ``extra_admin_routes()``),
so ``admin_app(feeds.administered())`` exposes their faults and logs over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp

from orchestra_ops.sandbox.admin import AdministeredEmulator
from orchestra_ops.sandbox.faults import FaultPlan, RequestLog
from orchestra_ops.sandbox.feeds.npm_registry import NpmRegistryFeed
from orchestra_ops.sandbox.feeds.osv import OsvFeed
from orchestra_ops.sandbox.feeds.safety import SafetyPlatformStub, write_safety_db
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread, stop_all

__all__ = [
    "Feeds",
    "NpmRegistryFeed",
    "OsvFeed",
    "SafetyPlatformStub",
    "ServedFeeds",
    "write_safety_db",
]


@dataclass(frozen=True)
class ServedFeeds:
    """The three feeds being served on loopback."""

    osv: ServedApp
    safety: ServedApp
    npm: ServedApp


class Feeds:
    """The three advisory feeds built from the packaged fixtures."""

    def __init__(self) -> None:
        self.osv = OsvFeed()
        self.safety = SafetyPlatformStub()
        self.npm = NpmRegistryFeed()

    def administered(self) -> dict[str, AdministeredEmulator]:
        """The feeds by name, for ``admin_app``."""
        return {"osv": self.osv, "safety": self.safety, "npm": self.npm}

    @property
    def plans(self) -> dict[str, FaultPlan]:
        """Each feed's fault plan, by name."""
        return {name: feed.plan for name, feed in self.administered().items()}

    @property
    def logs(self) -> dict[str, RequestLog]:
        """Each feed's request log, by name."""
        return {name: feed.log for name, feed in self.administered().items()}

    def osv_app(self) -> ASGIApp:
        """The OSV API app (fault middleware included)."""
        return self.osv.app()

    def safety_app(self) -> ASGIApp:
        """The safety auth stub app (fault middleware included)."""
        return self.safety.app()

    def npm_app(self) -> ASGIApp:
        """The npm registry app (fault middleware included)."""
        return self.npm.app()

    def apps(self) -> dict[str, ASGIApp]:
        """Each feed's ASGI app, by name."""
        return {"osv": self.osv_app(), "safety": self.safety_app(), "npm": self.npm_app()}

    def write_safety_db(self, directory: Path) -> Path:
        """Write the safety database of the PyPI fixtures into ``directory``; returns it."""
        return write_safety_db(directory)

    @contextmanager
    def serve(self) -> Iterator[ServedFeeds]:
        """Serve the three feeds on 127.0.0.1 until the block ends."""
        served: dict[str, ServedApp] = {}
        try:
            for name, app in self.apps().items():
                served[name] = serve_in_thread(app, name=f"feed-{name}")
            yield ServedFeeds(osv=served["osv"], safety=served["safety"], npm=served["npm"])
        finally:
            stop_all(served.values())
