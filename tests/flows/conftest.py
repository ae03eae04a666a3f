"""Fixtures the flow tests share: one sandbox and one backend API per module, short retry
waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from tests.retry_waits import short_retry_waits  # noqa: F401 - autouse for every flow test


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Endpoints]]:
    """Every emulator, for the module (a module may define its own instead)."""
    runner = Sandbox(tmp_path_factory.mktemp("sandbox"))
    with runner as endpoints:
        yield runner, endpoints


@pytest.fixture(scope="module")
def backend() -> Iterator[ServedApp]:
    """The backend API the apps' /api rewrites point at: JSON for every path."""

    async def api(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "path": request.url.path})

    with serve_in_thread(Starlette(routes=[Route("/{path:path}", api)])) as served:
        yield served
