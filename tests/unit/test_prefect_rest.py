"""deployments/rest.py: a busy server is asked again; a refusal is not."""

from __future__ import annotations

import httpx
import pytest

from deployments.rest import PrefectRest
from orchestra_ops.errors import InvalidRequest, Unavailable

RUN = {"id": "run-1", "name": "brave-otter", "state": {"type": "SCHEDULED"}}


def _server(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"id": "dep-1"})
        return answers.pop(0)

    return httpx.MockTransport(handle)


def test_a_busy_server_is_asked_again_with_the_same_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []
    answers = [httpx.Response(503), httpx.Response(429, headers={"retry-after": "2"})]
    answers.append(httpx.Response(201, json=RUN))
    client = PrefectRest("http://prefect/api", transport=_server(answers, seen), sleep=waits.append)
    run = client.create_flow_run("f/d", {"params": {}}, "key-1")
    assert run.id == "run-1" and run.state == "SCHEDULED"
    posts = [r for r in seen if r.method == "POST"]
    assert len(posts) == 3 and all(b'"idempotency_key":"key-1"' in r.content for r in posts)
    assert waits == [1.0, 2.0]


def test_a_refusal_is_not_repeated_and_names_the_reason() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(409, json={"detail": "Validation failed for field 'params'"})]
    client = PrefectRest(
        "http://prefect/api", transport=_server(answers, seen), sleep=lambda _: None
    )
    with pytest.raises(InvalidRequest, match="Validation failed"):
        client.create_flow_run("f/d", {"params": {"instance_type": "huge!"}}, "key-2")
    assert [r.method for r in seen] == ["GET", "POST"]


def test_a_server_that_stays_busy_fails_after_a_few_attempts() -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(503) for _ in range(4)]
    client = PrefectRest(
        "http://prefect/api", transport=_server(answers, seen), sleep=lambda _: None
    )
    with pytest.raises(Unavailable, match="HTTP 503"):
        client.create_flow_run("f/d", {}, "key-3")
    assert len([r for r in seen if r.method == "POST"]) == 4
