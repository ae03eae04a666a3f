"""Recovery judges a crashed run's release with the gate the run recorded, at the same URLs."""

from __future__ import annotations

import hashlib
import time

from orchestra_ops.domain.health import HealthPolicy, ProbeResult
from orchestra_ops.frontend_rollback import PROMOTE_ACTION, gate_record, release_probe
from orchestra_ops.ledger import Intent

RELEASE = b"<p>release 2</p>"
QUICK = HealthPolicy(consecutive=2, interval_s=0, budget_s=5, fail_fast_after=2)


class Site:
    """Production as a table of paths: anything else is a 404, as Next.js answers
    outside its basePath."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.probed: list[str] = []

    def probe(self, url: str, marker: str | None = None) -> ProbeResult:
        self.probed.append(url)
        body = self.pages.get(url)
        if body is None:
            return ProbeResult(404, 0.01, digest=hashlib.sha256(b"404").hexdigest())
        return ProbeResult(200, 0.01, digest=hashlib.sha256(body).hexdigest())


def promote_intent(gate: dict[str, object]) -> Intent:
    return Intent("k", "promote", {"gate": gate}, {"action": PROMOTE_ACTION}, time.time())


def test_a_release_under_a_base_path_is_probed_there_and_kept() -> None:
    site = Site({"https://dash.vercel.app/admin/": RELEASE})
    fingerprint = hashlib.sha256(RELEASE).hexdigest()
    gate = gate_record("https://dash.vercel.app", fingerprint, (), None, "/admin")

    assert release_probe(site, QUICK)(promote_intent(gate)) is True
    assert set(site.probed) == {"https://dash.vercel.app/admin/"}


def test_the_same_release_probed_at_the_root_would_be_undone() -> None:
    """What recovery did before the gate kept its site path: the root is a 404 there."""
    site = Site({"https://dash.vercel.app/admin/": RELEASE})
    fingerprint = hashlib.sha256(RELEASE).hexdigest()
    gate = gate_record("https://dash.vercel.app", fingerprint, (), None)

    assert release_probe(site, QUICK)(promote_intent(gate)) is False
    assert site.probed == ["https://dash.vercel.app/"] * 2


def test_an_intent_recorded_before_site_paths_is_probed_at_the_root() -> None:
    site = Site({"https://web.vercel.app/": RELEASE})
    gate = gate_record("https://web.vercel.app", hashlib.sha256(RELEASE).hexdigest(), (), None)
    del gate["site_path"]

    assert release_probe(site, QUICK)(promote_intent(gate)) is True
