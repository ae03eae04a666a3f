"""httpx's one-call functions and its client, sharing the product's one TLS context.

``httpx.get`` and its kind build a client per call, and each new client loads the CA
bundle again (about 60 ms of CPU) even for the plain-HTTP emulators on loopback; the
tests make thousands of such calls. These are the same functions with
:func:`orchestra_ops.adapters._http.tls_context` passed in.
"""

from __future__ import annotations

import functools

import httpx

from orchestra_ops.adapters._http import tls_context

get = functools.partial(httpx.get, verify=tls_context())
head = functools.partial(httpx.head, verify=tls_context())
post = functools.partial(httpx.post, verify=tls_context())
put = functools.partial(httpx.put, verify=tls_context())
delete = functools.partial(httpx.delete, verify=tls_context())
request = functools.partial(httpx.request, verify=tls_context())
Client = functools.partial(httpx.Client, verify=tls_context())
