"""A small OSV API client: ``GET /v1/vulns/{id}`` to give pip-audit findings a severity.

pip-audit's reports carry no severity; the OSV record of an id or one of its aliases
(usually the GHSA one) does. 404 means "no such record" (None); 5xx, timeouts and
refused connections are a ScanError: an unenriched report would under-state severity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from orchestra_ops.adapters._http import ClosesOnExit, tls_context
from orchestra_ops.adapters.scanners.normalise import enrich_with_osv
from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.errors import ScanError


class OsvClient(ClosesOnExit):
    """Looks OSV records up by id on one OSV API base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout_s, verify=tls_context()
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def get_vuln(self, vuln_id: str) -> dict[str, Any] | None:
        """The OSV record of ``vuln_id``, or None when OSV has none (404)."""
        path = f"/v1/vulns/{quote(vuln_id, safe='')}"
        try:
            response = self._client.get(path)
        except httpx.TimeoutException as error:
            raise ScanError(f"OSV lookup of {vuln_id} at {self.base_url} timed out") from error
        except httpx.HTTPError as error:
            message = f"OSV lookup of {vuln_id} at {self.base_url} failed: {error}"
            raise ScanError(message) from error
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ScanError(
                f"OSV lookup of {vuln_id} at {self.base_url} answered HTTP "
                f"{response.status_code}; retry later or check ORCHESTRA_OSV_API_URL"
            )
        try:
            record = response.json()
        except ValueError as error:
            raise ScanError(f"OSV lookup of {vuln_id} returned invalid JSON") from error
        if not isinstance(record, dict):
            raise ScanError(f"OSV lookup of {vuln_id} returned a non-object")
        return record

    def records(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Id -> record for every id OSV knows (each id asked once)."""
        found: dict[str, dict[str, Any]] = {}
        for vuln_id in sorted(set(ids)):
            record = self.get_vuln(vuln_id)
            if record is not None:
                found[vuln_id] = record
        return found


def enrich(findings: list[Finding], client: OsvClient) -> list[Finding]:
    """Give severity-less findings the severity of their ids' OSV records."""
    wanted = {i for f in findings if f.severity is None for i in f.ids}
    return enrich_with_osv(findings, client.records(wanted))
