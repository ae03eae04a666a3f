"""Lambda Cloud over HTTP: one call, its envelope, and its errors as our error tree.

Translation keys on the error ``code`` and the HTTP status, never on the message.
A 429 is handled before the body is read (its body is unverified); a ``Retry-After``
no longer than the client's bound is honoured once inside the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import httpx

from orchestra_ops.adapters._http import retry_after_seconds
from orchestra_ops.errors import (
    InsufficientCapacity,
    LambdaCloudError,
    LambdaConflict,
    LambdaInvalidRequest,
    LambdaNotFound,
    LambdaRateLimited,
    LambdaUnauthorized,
    LambdaUnavailable,
)

INSUFFICIENT_CAPACITY = "instance-operations/launch/insufficient-capacity"
NOT_FOUND_CODE = "global/object-does-not-exist"
CONFLICT_CODES = frozenset(
    {
        "global/duplicate",
        "filesystems/filesystem-in-use",
        "firewall-rulesets/firewall-ruleset-in-use",
        "ssh-keys/key-in-use",
    }
)


@dataclass(frozen=True)
class Call:
    """One API call: what it is (for messages) and, for launches, what was asked for."""

    method: str
    path: str
    json: Any = None
    region: str | None = None
    instance_type: str | None = None

    @property
    def label(self) -> str:
        """``POST /instance-operations/launch``."""
        return f"{self.method} {self.path}"


class LambdaHttp:
    """Sends calls and returns the ``data`` payload, or raises a LambdaCloudError."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        secret: str,
        max_retry_after_s: float,
        sleep: Callable[[float], None],
    ) -> None:
        self._client = client
        self._secret = secret
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep

    def __repr__(self) -> str:
        return "LambdaHttp()"

    def send(self, call: Call) -> Any:
        """Perform ``call``; honour one short Retry-After; the answer's ``data``."""
        response = self._request(call)
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            if wait is not None and wait <= self._max_retry_after_s:
                self._sleep(wait)
                response = self._request(call)
        return self._data(call, response)

    def _request(self, call: Call) -> httpx.Response:
        try:
            return self._client.request(call.method, call.path, json=call.json)
        except httpx.TimeoutException as error:
            raise LambdaUnavailable(
                f"Lambda Cloud did not answer {call.label} in time; retry later"
            ) from error
        except httpx.TransportError as error:
            reason = self._scrub(type(error).__name__)
            raise LambdaUnavailable(
                f"could not reach Lambda Cloud for {call.label} ({reason}); check the API "
                "URL and the network, then retry"
            ) from error

    def _data(self, call: Call, response: httpx.Response) -> Any:
        status = response.status_code
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            hint = f"wait {wait:.0f} s" if wait is not None else "wait a while"
            raise LambdaRateLimited(
                f"Lambda Cloud rate-limited {call.label}; {hint} and retry "
                "(launches are limited to one per 12 s)",
                code=_code_of(response),
                retry_after=wait,
            )
        body = _json(response)
        if 200 <= status < 300:
            if isinstance(body, dict) and "data" in body:
                return body["data"]
            raise self._malformed(call, status)
        error = body.get("error") if isinstance(body, dict) else None
        if not _is_error_object(error):
            if status in (401, 403) or status >= 500:
                raise translate(call, status, None, f"HTTP {status}")
            raise self._malformed(call, status)
        message = self._scrub(str(error["message"]))
        raise translate(call, status, str(error["code"]), message)

    def _malformed(self, call: Call, status: int) -> LambdaUnavailable:
        return LambdaUnavailable(
            f"Lambda Cloud answered {call.label} with HTTP {status} and a body that is not its "
            "JSON envelope (a proxy or an outage page?); retry later"
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _code_of(response: httpx.Response) -> str | None:
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    return str(error["code"]) if _is_error_object(error) else None


def _is_error_object(error: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


def translate(call: Call, status: int, code: str | None, message: str) -> LambdaCloudError:
    """The error for an error answer: by ``code`` first, then by status."""
    said = f"{message} ({code})" if code else message
    where = f"Lambda Cloud refused {call.label}: {said}"
    if code == INSUFFICIENT_CAPACITY:
        region, kind = call.region or "?", call.instance_type or "?"
        return InsufficientCapacity(
            f"Lambda Cloud has no capacity for {kind} in {region}: {message}; try another "
            "region or instance type (listed capacity is not a reservation)",
            region=region,
            instance_type=kind,
        )
    if status in (401, 403):
        return LambdaUnauthorized(
            f"{where}; check LAMBDA_LABS_API_KEY and that the account is active", code=code
        )
    if status == 404 or code == NOT_FOUND_CODE:
        return LambdaNotFound(f"{where}; check the id or name", code=code)
    if status == 409 or code in CONFLICT_CODES:
        return LambdaConflict(f"{where}; it conflicts with what exists or is in use", code=code)
    if status >= 500:
        return LambdaUnavailable(f"{where}; Lambda Cloud is failing, retry later", code=code)
    return LambdaInvalidRequest(f"{where}; fix the request before retrying", code=code)
