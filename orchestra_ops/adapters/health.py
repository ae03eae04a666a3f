"""HTTP health probes (the Prober port); ``orchestra_ops.health_gate`` runs a gate on them.

In the sandbox, deployment hostnames (``app-abc.vercel.app``) do not resolve; with
``edge_url`` set, each probe goes to the sandbox edge with the hostname in the ``Host``
header, as a resolver override would.
"""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

import httpx

from orchestra_ops.adapters._http import ClosesOnExit, tls_context
from orchestra_ops.domain.health import ProbeResult


class HttpProber(ClosesOnExit):
    """Probes one URL at a time; reusable, closable."""

    def __init__(
        self,
        *,
        edge_url: str | None = None,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._edge = edge_url.rstrip("/") if edge_url else None
        self._client = httpx.Client(
            timeout=timeout_s, transport=transport, follow_redirects=False, verify=tls_context()
        )

    def probe(self, url: str, marker: str | None = None) -> ProbeResult:
        """GET ``url``; never raises: a failure is a ProbeResult with no status."""
        target, headers = url, {}
        if self._edge is not None:
            parts = urlsplit(url)
            path = parts.path or "/"
            target = f"{self._edge}{path}" + (f"?{parts.query}" if parts.query else "")
            headers["host"] = parts.netloc
        started = time.perf_counter()
        try:
            answer = self._client.get(target, headers=headers)
        except httpx.HTTPError as error:
            return ProbeResult(None, time.perf_counter() - started, error=type(error).__name__)
        latency = time.perf_counter() - started
        seen = marker is None or marker in answer.text
        return ProbeResult(
            answer.status_code,
            latency,
            marker_seen=seen,
            digest=hashlib.sha256(answer.content).hexdigest(),
            edge_error=answer.headers.get("x-vercel-error"),
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
