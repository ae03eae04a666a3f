"""Pieces every HTTP adapter shares: one TLS context, Retry-After parsing, and closing on
``with`` exit."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from types import TracebackType
from typing import Self

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's CAs, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``
    as set when first asked), loaded once per process and shared by every client.

    A client made without one loads the CA bundle again: about 60 ms of CPU each, paid by
    every provider call in the plugin process and every relayed request in the sandbox.
    """
    return httpx.create_ssl_context()


def retry_after_seconds(value: str | None) -> float | None:
    """Parse Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ClosesOnExit:
    """Mix-in: ``with client:`` calls ``client.close()`` at the end."""

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
