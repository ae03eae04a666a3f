"""HTTP plumbing of the Vercel adapter: auth, ``teamId``, Retry-After and error translation.

Status mapping: 401/403 -> VercelUnauthorized, 404 -> VercelNotFound, 409 ->
VercelConflict, other 4xx -> VercelInvalidRequest, 429 -> wait ``Retry-After`` once
(seconds or an HTTP date, at most ``max_retry_after_s``) then VercelRateLimited, 5xx,
timeouts and connection errors -> VercelUnavailable. The token never appears in a
message, a repr or a log line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from orchestra_ops.adapters._http import retry_after_seconds, tls_context
from orchestra_ops.errors import (
    VercelConflict,
    VercelError,
    VercelInvalidRequest,
    VercelNotFound,
    VercelRateLimited,
    VercelUnauthorized,
    VercelUnavailable,
)

Params = Mapping[str, str | int]


class VercelHttp:
    """One httpx.Client for the Vercel API, with the team and error rules applied."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        team_id: str | None,
        transport: httpx.BaseTransport | None,
        timeout_s: float,
        max_retry_after_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.team_id = team_id
        self.max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            transport=transport,
            timeout=timeout_s,
            verify=tls_context(),
        )

    def __repr__(self) -> str:
        return f"VercelHttp(base_url={str(self._client.base_url)!r}, team_id={self.team_id!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request (``teamId`` added), honouring one Retry-After; no status check."""
        query: dict[str, str | int] = dict(params or {})
        if self.team_id:
            query["teamId"] = self.team_id
        response = self._once(method, path, query, json, content, headers)
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait is not None and wait <= self.max_retry_after_s:
                self._sleep(wait)
                response = self._once(method, path, query, json, content, headers)
        return response

    def call(self, method: str, path: str, **options: Any) -> Any:
        """Send, raise the matching error for a non-2xx answer, return the JSON (or None)."""
        response = self.send(method, path, **options)
        raise_for(response, f"{method} {path}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise VercelUnavailable(f"{method} {path}: Vercel answered non-JSON") from error

    def _once(
        self,
        method: str,
        path: str,
        query: Params,
        json: Any,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        try:
            return self._client.request(
                method, path, params=query, json=json, content=content, headers=headers
            )
        except httpx.TimeoutException as error:
            raise VercelUnavailable(
                f"{method} {path}: Vercel did not answer in time; retry later"
            ) from error
        except httpx.TransportError as error:
            raise VercelUnavailable(
                f"{method} {path}: cannot reach Vercel ({type(error).__name__}); "
                "check the API URL and the network"
            ) from error


def error_code(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from Vercel's ``{"error": {code, message}}`` envelope, if present."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code", "")), str(error.get("message", ""))


def raise_for(response: httpx.Response, what: str) -> None:
    """Raise the VercelError subclass for a non-2xx answer."""
    status = response.status_code
    if status < 400:
        return
    code, message = error_code(response)
    detail = f"{what}: HTTP {status}" + (f" {code}: {message}" if code or message else "")
    error: VercelError
    if status in (401, 403):
        error = VercelUnauthorized(f"{detail}. Check VERCEL_TOKEN and VERCEL_ORG_ID (team).")
    elif status == 404:
        error = VercelNotFound(detail)
    elif status == 409:
        error = VercelConflict(detail)
    elif status == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        error = VercelRateLimited(f"{detail}. Retry later.", retry_after=wait)
    elif status >= 500:
        error = VercelUnavailable(f"{detail}. Vercel is failing; retry later.")
    else:
        error = VercelInvalidRequest(detail)
    raise error
