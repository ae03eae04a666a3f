"""Fault injection and the request log, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from orchestra_ops.sandbox.admin import admin_app
from orchestra_ops.sandbox.faults import Fault, FaultMiddleware, FaultPlan, RequestLog
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from tests import loopback


class CounterEmulator:
    """A tiny stateful emulator: POST /things adds one, GET /things counts them."""

    def __init__(self) -> None:
        self.plan = FaultPlan()
        self.log = RequestLog()
        self.things = 0

    def extra_admin_routes(self) -> list[BaseRoute]:
        return []

    def app(self) -> Any:
        async def add(request: Request) -> JSONResponse:
            self.things += 1
            return JSONResponse({"data": {"count": self.things}})

        async def count(request: Request) -> JSONResponse:
            return JSONResponse({"data": {"count": self.things}})

        inner = Starlette(routes=[Route("/things", add, methods=["POST"]), Route("/things", count)])
        return FaultMiddleware(
            inner,
            plan=self.plan,
            log=self.log,
            error_body=lambda status: {"error": {"code": f"http-{status}"}},
        )


@pytest.fixture
def served() -> Iterator[tuple[CounterEmulator, ServedApp, ServedApp]]:
    emulator = CounterEmulator()
    with (
        serve_in_thread(emulator.app()) as api,
        serve_in_thread(admin_app({"counter": emulator})) as admin,
    ):
        yield emulator, api, admin


def test_respond_fault_answers_without_effect(served: Any) -> None:
    """A plain fault answers its status in the emulator's envelope and changes nothing."""
    emulator, api, _ = served
    emulator.plan.inject("/things", method="POST", status=503, headers={"Retry-After": "1"})
    answer = loopback.post(f"{api.url}/things")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {"error": {"code": "http-503"}}
    assert emulator.things == 0
    assert loopback.post(f"{api.url}/things").json() == {"data": {"count": 1}}


def test_after_effect_fault_changes_state_but_answers_an_error(served: Any) -> None:
    """'Succeeded but answered 500': the state moved, the client was told otherwise."""
    emulator, api, _ = served
    emulator.plan.add(Fault(path="/things", method="POST", status=500, mode="after_effect"))
    assert loopback.post(f"{api.url}/things").status_code == 500
    assert emulator.things == 1


def test_hang_fault_times_the_client_out(served: Any) -> None:
    """A hang longer than the client's timeout is a timeout on the client side."""
    emulator, api, _ = served
    emulator.plan.inject("/things", method="GET", mode="hang", delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        loopback.get(f"{api.url}/things", timeout=0.2)


def test_count_limits_a_fault_and_the_log_records_statuses(served: Any) -> None:
    """A fault with count=2 hits twice; the log shows each answer and which fault hit."""
    emulator, api, _ = served
    fault_id = emulator.plan.inject("/things", status=500, count=2)
    statuses = [loopback.get(f"{api.url}/things").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    log = emulator.log.entries()
    assert [(e.method, e.path, e.status) for e in log] == [("GET", "/things", s) for s in statuses]
    assert [e.fault_id for e in log] == [fault_id, fault_id, None]
    assert emulator.log.mutating() == []


def test_admin_endpoint_programs_faults_and_reads_the_log(served: Any) -> None:
    """Faults and the log are reachable over HTTP, for processes outside the tests."""
    _emulator, api, admin = served
    created = loopback.post(
        f"{admin.url}/counter/faults", json={"path": "/things", "method": "POST", "status": 429}
    )
    assert created.status_code == 201
    assert loopback.post(f"{api.url}/things").status_code == 429
    log = loopback.get(f"{admin.url}/counter/requests").json()
    assert [(e["method"], e["status"]) for e in log] == [("POST", 429)]
    assert loopback.delete(f"{admin.url}/counter/requests").status_code == 200
    assert loopback.get(f"{admin.url}/counter/requests").json() == []


def test_admin_endpoint_rejects_malformed_faults(served: Any) -> None:
    """A bad fault definition gets a 400 that says what is wrong."""
    _, _, admin = served
    bad_regex = loopback.post(f"{admin.url}/counter/faults", json={"path": "("})
    assert bad_regex.status_code == 400
    assert "regular expression" in bad_regex.json()["error"]
    unknown = loopback.post(f"{admin.url}/counter/faults", json={"path": "/x", "colour": "red"})
    assert unknown.status_code == 400
    assert "colour" in unknown.json()["error"]
