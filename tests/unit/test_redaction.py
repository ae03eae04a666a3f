"""URL credentials never reach text meant for people, whichever module says it."""

from __future__ import annotations

import pytest

from orchestra_ops.adapters.scanners._process import tail
from orchestra_ops.domain.notifications import clean
from orchestra_ops.domain.redaction import redact_urls, safe_url

SECRET = "s3cr3t-77aa"

TEXTS = [
    f"pip: could not fetch https://deploy:{SECRET}@pypi.corp.example/simple/ (503)",
    f"npm ERR! 401 HTTPS://{SECRET}@registry.corp.example/left-pad",
    f"git+ssh://git:{SECRET}@git.example/org/repo.git and 'http://u:{SECRET}@h/x'",
]


@pytest.mark.parametrize("text", TEXTS)
def test_every_way_out_masks_the_user_info(text: str) -> None:
    for said in (redact_urls(text), clean(text, limit=10_000), tail(text)):
        assert SECRET not in said
        assert "***@" in said


def test_text_without_credentials_is_left_as_it_is() -> None:
    text = "see https://pypi.org/project/requests/ or mail ops@example.com"
    assert redact_urls(text) == text


def test_a_safe_url_keeps_host_and_path_only() -> None:
    assert safe_url(f"https://u:{SECRET}@host.example:8443/a?token={SECRET}#d") == (
        "https://host.example:8443/a?…"
    )


def test_what_does_not_parse_as_a_url_is_never_echoed() -> None:
    for broken in (
        f"http//u:{SECRET}@127.0.0.1/api",
        f"not a url {SECRET}",
        f"http://[::1{SECRET}",
    ):
        assert safe_url(broken) == "(not a URL)"
