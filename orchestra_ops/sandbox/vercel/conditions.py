"""Build Output route conditions, pure: a route's ``has`` and ``missing`` lists.

Each condition is ``{"type": "header" | "cookie" | "query", "key": ..., "value"?: ...}``
or ``{"type": "host", "value": ...}``. Without ``value`` the key only has to be present;
a string ``value`` is a regular expression the whole value must match. A route applies
when every ``has`` condition holds and no ``missing`` condition does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class RequestFacts:
    """What a condition can look at: lower-cased header names, cookies, query, host."""

    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    host: str = ""

    @classmethod
    def of(cls, headers: Mapping[str, str], query: str) -> RequestFacts:
        """The facts of a request from its headers and raw query string."""
        lowered = {k.lower(): v for k, v in headers.items()}
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(lowered.get("cookie", ""))
            cookies = {name: morsel.value for name, morsel in jar.items()}
        except CookieError:
            cookies = {}
        host = lowered.get("host", "").split(":", 1)[0].lower()
        return cls(lowered, cookies, dict(parse_qsl(query, keep_blank_values=True)), host)


def applies(rule: Mapping[str, Any], facts: RequestFacts) -> bool:
    """True when the rule's ``has`` all hold and none of its ``missing`` do."""
    has = rule.get("has") or []
    missing = rule.get("missing") or []
    return all(_holds(c, facts) for c in has) and not any(_holds(c, facts) for c in missing)


def _holds(condition: Any, facts: RequestFacts) -> bool:
    if not isinstance(condition, Mapping):
        return False
    kind = condition.get("type")
    if kind == "host":
        actual: str | None = facts.host
    else:
        source = {"header": facts.headers, "cookie": facts.cookies, "query": facts.query}
        values = source.get(str(kind))
        if values is None:
            return False
        key = str(condition.get("key", ""))
        actual = values.get(key.lower() if kind == "header" else key)
    if actual is None:
        return False
    wanted = condition.get("value")
    if wanted is None:
        return True
    try:
        return re.fullmatch(str(wanted), actual) is not None
    except re.error:
        return str(wanted) == actual
