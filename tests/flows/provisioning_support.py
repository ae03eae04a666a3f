"""Helpers the provisioning flow tests share: projects, parameters, what the Lambda API holds.

Two modules use them: ``test_lambda_provisioning.py`` runs the stacks on the Pulumi engine,
``test_lambda_provisioning_double.py`` on the engine test double (tests/doubles).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.params import HealthParams, ProvisioningParams
from orchestra_ops import wiring
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.domain.lambda_cloud import Instance
from orchestra_ops.domain.provisioning import live_instances_of
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import load_settings

PROJECTS = Path(__file__).resolve().parents[2] / "infrastructure" / "pulumi"


@pytest.fixture(name="sandbox")
def fresh_sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Endpoints]]:
    """Every emulator, for one test: a provisioning test needs a Lambda account of its
    own (a module imports this to replace the conftest's module-wide sandbox)."""
    runner = Sandbox(tmp_path / "sandbox")
    with runner as endpoints:
        yield runner, endpoints


def copy_projects(into: Path) -> Path:
    """A copy of the shared and backend projects (the engine writes stack config next to them)."""
    for project in ("shared", "backend"):
        shutil.copytree(PROJECTS / project, into / project)
    return into


def use_sandbox(
    monkeypatch: pytest.MonkeyPatch, endpoints: Endpoints, state_dir: Path, engine: str
) -> None:
    """Point the settings at the sandbox, a private state dir and the stack engine ``engine``."""
    for name, value in endpoints.as_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(state_dir))
    monkeypatch.setenv("ORCHESTRA_STACK_ENGINE", engine)


@contextmanager
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """A Slack-compatible webhook on loopback, recording what it is sent."""
    received: list[dict[str, object]] = []

    async def hook(request: Request) -> JSONResponse:
        received.append(await request.json())
        return JSONResponse({"ok": True})

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as served:
        monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", f"{served.url}/hook")
        yield received


def params(infra: Path, **changes: object) -> ProvisioningParams:
    """A dev request over ``infra`` with a quick health gate, plus ``changes``."""
    base: dict[str, object] = {
        "environment": "dev",
        "infrastructure_dir": str(infra),
        "health": HealthParams(consecutive=2, interval_s=0.05, budget_s=5, fail_fast_after=2),
    }
    base.update(changes)
    return ProvisioningParams.model_validate(base)


def api_instances(sandbox: tuple[Sandbox, Endpoints], environment: str = "dev") -> list[Instance]:
    """The environment's live instances, as the Lambda API lists them."""
    endpoints = sandbox[1]
    with LambdaCloudClient(endpoints.lambda_api_url, SecretStr(endpoints.lambda_api_key)) as api:
        owner = wiring.for_process(load_settings()).state_owner()
        return live_instances_of(api.list_instances(), environment, owner=owner)


def colour_of(instance: Instance) -> str:
    """The instance's ``colour`` tag."""
    return {t.key: t.value for t in instance.tags}["colour"]
