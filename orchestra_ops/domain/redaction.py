"""Credentials out of text meant for people: one place for every URL a message may carry."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# The user-info part of a URL anywhere in free text (a registry URL a tool echoes back,
# an exception that quotes its request): everything between ``://`` and ``@``.
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")


def redact_urls(text: str) -> str:
    """``text`` with the user-info part of every URL masked: ``https://***@host/...``."""
    return _URL_USERINFO.sub("***@", text)


def safe_url(url: str) -> str:
    """``url`` alone, without user:password and query string (either may hold a credential)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.username is not None:
            netloc = netloc.rpartition("@")[2]
    except ValueError:
        return "(not a URL)"
    if not parts.scheme or (not parts.netloc and "@" in url):  # "http//user:token@host"
        return "(not a URL)"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
