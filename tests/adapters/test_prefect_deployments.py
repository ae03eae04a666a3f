"""The real Prefect server (the session's test harness) refuses bad provisioning requests
before a run exists, naming the field; `orchestra-ops trigger --wait` follows a real run
to Completed; and a run the deployment's CANCEL_NEW limit turns away is said to be so.

The deployments are made as `make deploy` makes them: the flow's deployment with
``enforce_parameter_schema``, then ``deployments.parameter_schemas.tighten``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.runner import Runner
from prefect.settings import PREFECT_UI_URL
from prefect.states import Pending

from deployments.parameter_schemas import tighten
from flows.lambda_provisioning import lambda_provisioning, lambda_ttl_cleanup
from orchestra_cli.trigger import run_trigger
from orchestra_ops.adapters.prefect_deployments import PrefectDeployments
from orchestra_ops.errors import InvalidRequest
from orchestra_ops.trigger import Exit, verdict

pytestmark = pytest.mark.usefixtures("prefect_harness")

PROVISIONING = "lambda-provisioning/lambda-provisioning"
CLEANUP = "lambda-ttl-cleanup/lambda-ttl-cleanup"
REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"params": {"environment": "dev", "colour": "blue"}}, "Validation failed for field 'params'"),
    ({"params": {"environment": "dev"}, "priority": "high"}, "Validation failed. "),
    (
        {"params": {"environment": "prod", "ttl_hours": 8}},
        "Validation failed for field 'params.ttl_hours'",
    ),
    (
        {"params": {"environment": "dev", "regions": ["mars-north-1"]}},
        "Validation failed for field 'params.regions[0]'",
    ),
    (
        {"params": {"environment": "dev", "count": "two"}},
        "Validation failed for field 'params.count'",
    ),
]


def _runs(deployment_id: str) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )


async def _execute_scheduled_runs() -> None:
    """What a worker does: pick up the scheduled runs of the cleanup deployment, run them."""
    runner = Runner(name="trigger-test")
    await runner.aadd_flow(lambda_ttl_cleanup, name="lambda-ttl-cleanup")
    await runner.start(run_once=True)


def test_refusals_name_the_field_and_trigger_follows_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRA_STATE_DIR", str(tmp_path / "state"))  # no lease: nothing to do
    limit = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)
    lambda_provisioning.to_deployment(
        name="lambda-provisioning", enforce_parameter_schema=True, concurrency_limit=limit
    ).apply()
    lambda_ttl_cleanup.to_deployment(name="lambda-ttl-cleanup").apply()
    flows = {PROVISIONING: lambda_provisioning, CLEANUP: lambda_ttl_cleanup}
    assert tighten(flows) == [f"closed the parameter schema of {name}" for name in sorted(flows)]
    assert tighten(flows) == [f"unchanged {name}" for name in sorted(flows)]  # make deploy again

    with PrefectDeployments() as server:  # the server's own answers, no local check first
        deployment = server.deployment(PROVISIONING)
        for request, answer in REFUSALS:
            with pytest.raises(InvalidRequest) as refused:
                server.create_run(deployment, request, None)
            print(f"\nrequest: {json.dumps(request)}\nanswer: {refused.value}")
            assert answer in str(refused.value)
        assert _runs(deployment.id) == []  # refused before a run existed

        # A second run while the first holds the slot: CANCEL_NEW cancels it, said as such.
        first = server.create_run(deployment, {"params": {"environment": "dev"}}, None)
        second = server.create_run(deployment, {"params": {"environment": "dev"}}, None)
        with get_client(sync_client=True) as client:
            assert client.set_flow_run_state(first.id, Pending()).state.type.value == "PENDING"
            client.set_flow_run_state(second.id, Pending())
        code, line = verdict(deployment, server.run(second.id), 10)
        assert code is Exit.LIMITED, line
        print(f"\nsecond run while the first holds the slot: {line}")

    lines: list[str] = []
    outcome: list[Exit] = []
    follower = threading.Thread(
        target=lambda: outcome.append(
            run_trigger(
                "lambda-ttl-cleanup",
                None,
                None,
                "trigger-test-1",
                wait=True,
                timeout_s=120,
                echo=lines.append,
                fail=lines.append,
                poll_s=0.5,
            )
        )
    )
    follower.start()
    with PrefectDeployments() as server:
        cleanup_id = server.deployment(CLEANUP).id
    deadline = time.monotonic() + 30
    while not _runs(cleanup_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    asyncio.run(_execute_scheduled_runs())
    follower.join(timeout=150)
    print("\n" + "\n".join(lines))
    assert outcome == [Exit.DONE], lines
    assert lines[0].startswith("run ") and f"of {CLEANUP}: Scheduled" in lines[0]
    run_id = lines[0].split("(", 1)[1].split(")", 1)[0]
    assert lines[0].endswith(f"; in the UI: {PREFECT_UI_URL.value()}/runs/flow-run/{run_id}")
    assert lines[-1].endswith(": Completed")


def test_an_unknown_deployment_is_not_found_where_prefect_answers_else_unavailable() -> None:
    """On the real server an unknown name is NotFound; where something else answers 404
    (a wrong port, a URL without /api) the URL is at fault, and the error says so."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from orchestra_ops.errors import NotFound, Unavailable
    from orchestra_ops.sandbox.server import serve_in_thread

    with PrefectDeployments() as server, pytest.raises(NotFound):
        server.deployment("no-such-flow/no-such-deployment")
    with serve_in_thread(Starlette(), name="not-prefect") as other:  # 404 for every path
        with temporary_settings({PREFECT_API_URL: f"{other.url}/api"}), PrefectDeployments() as bad:
            with pytest.raises(Unavailable, match="does not answer as a Prefect API"):
                bad.deployment("no-such-flow/no-such-deployment")
    lookalike = Starlette(
        routes=[
            Route("/api/health", lambda _: JSONResponse(True)),
            Route("/api/deployments/name/{n:path}", lambda _: JSONResponse({"id": "tok_CANARY"})),
        ]
    )
    with serve_in_thread(lookalike, name="lookalike") as other:  # answers, but not as Prefect
        with temporary_settings({PREFECT_API_URL: f"{other.url}/api"}), PrefectDeployments() as bad:
            with pytest.raises(Unavailable, match="not a Prefect API's answer") as caught:
                bad.deployment("x/y")
    assert "CANARY" not in str(caught.value)
