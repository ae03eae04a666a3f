"""Deliver a notice to a Slack-compatible incoming webhook, never failing the caller.

The webhook URL is the credential (Slack puts the secret in the path), so it stays a
``SecretStr`` and never reaches a repr, a log line or a result. Requests go straight
through the transport: ``httpx.Client`` logs every request URL at INFO level.

Bounded: one attempt, plus one retry after a 5xx, a 429 or a failed connection, waiting
what Retry-After asks when that is within ``max_retry_after_s``. A timeout while waiting
for the answer is not retried (the message may have arrived; a duplicate alert is noise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from orchestra_ops.adapters._http import ClosesOnExit, retry_after_seconds, tls_context
from orchestra_ops.domain.notifications import Notice, render_slack
from orchestra_ops.ports.notifier import Delivery


@dataclass(frozen=True)
class _Attempt:
    delivery: Delivery
    retry: bool = False  # another attempt may succeed
    retry_after: float | None = None  # what the server asked us to wait, if it did


class WebhookNotifier(ClosesOnExit):
    """Implements :class:`~orchestra_ops.ports.notifier.Notifier`: POSTs notices as JSON to
    one webhook; ``send`` returns a Delivery, never raises."""

    def __init__(
        self,
        url: SecretStr,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        *,
        retry_delay_s: float = 1.0,
        max_retry_after_s: float = 5.0,
    ) -> None:
        self._url = url
        self._timeout = httpx.Timeout(timeout_s)
        self._transport = (
            transport if transport is not None else httpx.HTTPTransport(verify=tls_context())
        )
        self._retry_delay_s = retry_delay_s
        self._max_retry_after_s = max_retry_after_s

    def __repr__(self) -> str:
        return f"WebhookNotifier(url=SecretStr('**********'), timeout_s={self._timeout.read})"

    def send(self, notice: Notice) -> Delivery:
        """POST ``notice`` rendered for Slack; at most two attempts."""
        first = self._attempt(notice)
        if not first.retry:
            return first.delivery
        wait = self._retry_delay_s if first.retry_after is None else first.retry_after
        if wait > self._max_retry_after_s:
            return Delivery(
                False,
                f"{first.delivery.reason}; asked to retry after {wait:.0f} s "
                f"(more than {self._max_retry_after_s:.0f} s), not retried",
            )
        time.sleep(wait)
        second = self._attempt(notice).delivery
        return Delivery(second.delivered, f"{second.reason} (after {first.delivery.reason})", 2)

    def _attempt(self, notice: Notice) -> _Attempt:
        try:
            request = httpx.Request(
                "POST",
                self._url.get_secret_value(),
                json=render_slack(notice),
                extensions={"timeout": self._timeout.as_dict()},
            )
            response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            return _Attempt(Delivery(False, f"no connection ({type(error).__name__})"), retry=True)
        except httpx.TimeoutException as error:
            return _Attempt(Delivery(False, f"no answer in time ({type(error).__name__})"))
        except Exception as error:  # a bad URL, a protocol error: report, never raise
            # The type only: some httpx messages quote the URL.
            return _Attempt(Delivery(False, f"not sent ({type(error).__name__})"))
        return self._judge(response)

    def _judge(self, response: httpx.Response) -> _Attempt:
        status = response.status_code
        if 200 <= status < 300:
            return _Attempt(Delivery(True, f"HTTP {status}"))
        reason = f"HTTP {status}"
        if status == 429 or status >= 500:
            asked = retry_after_seconds(response.headers.get("retry-after"))
            return _Attempt(Delivery(False, reason), retry=True, retry_after=asked)
        return _Attempt(Delivery(False, f"{reason}: the webhook refused the message"))

    def close(self) -> None:
        """Release the connection pool."""
        self._transport.close()
