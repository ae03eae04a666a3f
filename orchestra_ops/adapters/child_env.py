"""The environment of a child process: an allow-list, never the worker's whole environment.

A worker's environment holds credentials (``VERCEL_TOKEN``, ``PULUMI_CONFIG_PASSPHRASE``,
the webhook URL, ``ORCHESTRA_SECRET_*`` of every app). A build or a scanner runs code
from the target repository and its dependencies (``npm ci`` runs install scripts), so it
gets only what it needs to run: the system basics, its tool's own configuration
(registry, proxy, CA certificates) and what the caller adds explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

#: Needed by nearly every program: where programs are, who and where we are, locale.
BASICS = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
)
#: Network plumbing a tool needs behind a proxy or a private CA (never credentials).
NETWORK = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)
#: Prefixes of locale settings.
LOCALE_PREFIXES = ("LC_",)
#: Package managers' own configuration: registry, cache, store locations.
NODE_TOOLS = ("npm_config_", "NPM_CONFIG_", "COREPACK_", "YARN_", "PNPM_", "NODE_OPTIONS")


def child_env(
    prefixes: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    *,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The allowed part of ``source`` (default ``os.environ``), plus ``extra``.

    A variable is allowed when it is one of :data:`BASICS` or :data:`NETWORK`, or
    starts with ``LC_`` or one of ``prefixes`` (exact names count as prefixes too).
    """
    allowed = (*BASICS, *NETWORK)
    starts = (*LOCALE_PREFIXES, *prefixes)
    env = {
        key: value
        for key, value in (os.environ if source is None else source).items()
        if key in allowed or key.startswith(starts)
    }
    env.update(extra or {})
    return env
