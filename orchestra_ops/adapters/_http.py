"""Pieces every HTTP adapter shares: one TLS context, Retry-After parsing, and closing on
``with`` exit."""

from __future__ import annotations

import email.utils
import functools
import os
import ssl
import time
from types import TracebackType
from typing import Self

import httpx


def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, shared by every client of this process: the CAs of
    ``SSL_CERT_FILE``, else of ``SSL_CERT_DIR``, else certifi's bundle.

    A client made without one loads the CA bundle again: about 60 ms of CPU each, paid by
    every provider call in the plugin process and every relayed request in the sandbox.
    The context is loaded again when the variables change or the file or folder they name
    is rewritten (a renewed corporate CA), so a long-lived process sees what a new one
    would. Every client that shares it speaks HTTP/1.1: httpcore sets the context's ALPN
    list on each connection, and one HTTP/2 client would change it under the others.
    """
    return _context_for(_trust_source())


def _trust_source() -> tuple[object, ...]:
    """What httpx reads its CAs from, with each path's identity and modification time."""
    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cert_file:
        return ("file", cert_file, _stamp(cert_file))
    if cert_dir:
        return ("dir", cert_dir, _stamp(cert_dir))
    return ("certifi",)


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None  # httpx's own load then fails and says so
    return found.st_ino, found.st_size, found.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _context_for(source: tuple[object, ...]) -> ssl.SSLContext:
    """One context per trust source: ``source`` is the cache key, httpx reads the rest."""
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
