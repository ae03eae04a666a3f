"""httpx's one-call functions and its client, with the product's shared TLS context.

``httpx.get`` and its kind build a client per call, and each new client loads the CA
bundle again (about 60 ms of CPU) even for the plain-HTTP emulators on loopback; the
tests make thousands of such calls. These pass
:func:`orchestra_ops.adapters._http.tls_context` in, asked at each call (so a test that
sets ``SSL_CERT_FILE`` is seen).
"""

from __future__ import annotations

from typing import Any

import httpx

from orchestra_ops.adapters._http import tls_context


def request(method: str, url: str, **options: Any) -> httpx.Response:
    """``httpx.request`` with the shared TLS context."""
    return httpx.request(method, url, verify=tls_context(), **options)


def get(url: str, **options: Any) -> httpx.Response:
    return request("GET", url, **options)


def head(url: str, **options: Any) -> httpx.Response:
    return request("HEAD", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return request("POST", url, **options)


def put(url: str, **options: Any) -> httpx.Response:
    return request("PUT", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    return request("DELETE", url, **options)


def Client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` with the shared TLS context."""
    return httpx.Client(verify=tls_context(), **options)
