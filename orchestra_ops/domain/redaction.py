"""Credentials out of text meant for people: one place for every URL a message may carry."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# The user-info part of a URL anywhere in free text (a registry URL a tool echoes back,
# an exception that quotes its request): everything between ``://`` and ``@``.
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+@")
# The query string of a URL in free text (``?token=...``): up to a space, quote or fragment.
_URL_QUERY = re.compile(r"(://[^\s?#'\"]*\?)[^\s#'\"]+")


def redact_urls(text: str) -> str:
    """``text`` with the user-info part and the query string of every URL masked:
    ``https://***@host/path?…``."""
    return _URL_QUERY.sub("\\1…", _URL_USERINFO.sub("***@", text))


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
