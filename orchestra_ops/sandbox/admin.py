"""The sandbox admin endpoint: program faults and read request logs from outside.

One small app on loopback, with a section per emulator::

    POST   /{emulator}/faults      add a fault (JSON, see faults.Fault); answers {"id": n}
    DELETE /{emulator}/faults      clear every fault
    GET    /{emulator}/requests    the request log [{method, path, status, at, fault_id}]
    DELETE /{emulator}/requests    clear the request log

plus each emulator's own controls (``extra_admin_routes``), e.g. making an instance's
health endpoint fail.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from orchestra_ops.sandbox.faults import FaultPlan, RequestLog, read_fault


class AdministeredEmulator(Protocol):
    """What the admin app needs from an emulator."""

    plan: FaultPlan
    log: RequestLog

    def extra_admin_routes(self) -> list[BaseRoute]:
        """Emulator-specific admin routes, mounted beside the generic ones."""
        ...


def _generic_routes(emulator: AdministeredEmulator) -> list[BaseRoute]:
    async def add_fault(request: Request) -> JSONResponse:
        fault = await read_fault(request)
        if isinstance(fault, JSONResponse):
            return fault
        return JSONResponse({"id": emulator.plan.add(fault)}, status_code=201)

    async def clear_faults(request: Request) -> JSONResponse:
        emulator.plan.clear()
        return JSONResponse({})

    async def list_requests(request: Request) -> JSONResponse:
        return JSONResponse([asdict(e) for e in emulator.log.entries()])

    async def clear_requests(request: Request) -> JSONResponse:
        emulator.log.clear()
        return JSONResponse({})

    return [
        Route("/faults", add_fault, methods=["POST"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/requests", list_requests, methods=["GET"]),
        Route("/requests", clear_requests, methods=["DELETE"]),
    ]


def admin_app(emulators: dict[str, AdministeredEmulator]) -> Starlette:
    """The admin app for the named emulators."""
    mounts: list[BaseRoute] = [
        Mount(f"/{name}", routes=_generic_routes(emu) + emu.extra_admin_routes())
        for name, emu in emulators.items()
    ]
    return Starlette(routes=mounts)
