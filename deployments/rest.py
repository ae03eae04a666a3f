"""Start deployment runs over Prefect's REST API, as an outside system would.

``POST /deployments/{id}/create_flow_run`` with an idempotency key: a retried request
(a timeout on the caller's side, a replayed webhook) returns the run the first one made
instead of starting a second. The server validates the parameters against the flow's
schema and answers 409 (Prefect's choice) when they do not match.

    python -m deployments.rest lambda-provisioning/lambda-provisioning \\
        '{"params": {"environment": "dev", "count": 1}}' --key ticket-1234
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from orchestra_ops.adapters._http import retry_after_seconds
from orchestra_ops.errors import ConfigError, InvalidRequest, NotFound, Unavailable

_ATTEMPTS = 4
_BACKOFF_S = 1.0


@dataclass(frozen=True)
class FlowRunRef:
    """The run the server created (or had already created for this idempotency key)."""

    id: str
    name: str
    state: str


class PrefectRest:
    """A thin client of the Prefect server's REST API (Prefect Cloud: pass the API key)."""

    def __init__(
        self,
        api_url: str,
        api_key: SecretStr | None = None,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sleep = sleep
        headers = {"authorization": f"Bearer {api_key.get_secret_value()}"} if api_key else {}
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )

    def __repr__(self) -> str:
        return f"PrefectRest({self._client.base_url})"

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def deployment_id(self, flow_and_deployment: str) -> str:
        """The id of ``flow-name/deployment-name``."""
        answer = self._call("GET", f"/deployments/name/{flow_and_deployment}")
        return str(answer["id"])

    def create_flow_run(
        self, flow_and_deployment: str, parameters: dict[str, Any], idempotency_key: str
    ) -> FlowRunRef:
        """Start a run of the deployment (or return the one this key already started)."""
        deployment = self.deployment_id(flow_and_deployment)
        body = {"parameters": parameters, "idempotency_key": idempotency_key}
        run = self._call("POST", f"/deployments/{deployment}/create_flow_run", json=body)
        return FlowRunRef(str(run["id"]), str(run["name"]), str(run["state"]["type"]))

    def flow_run_state(self, flow_run_id: str) -> str:
        """The run's state type (SCHEDULED, RUNNING, COMPLETED, FAILED...)."""
        return str(self._call("GET", f"/flow_runs/{flow_run_id}")["state"]["type"])

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call; a busy server (503, 429, no connection) is asked again, a few times.

        Repeating is safe: reads change nothing and a run is created with an idempotency key.
        """
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                answer = self._client.request(method, path, **kwargs)
            except httpx.TransportError as error:
                if attempt == _ATTEMPTS:
                    raise Unavailable(
                        f"Prefect API {method} {path}: {type(error).__name__}"
                    ) from error
                self._sleep(_BACKOFF_S * attempt)
                continue
            if answer.status_code not in (429, 502, 503, 504) or attempt == _ATTEMPTS:
                return _decoded(method, path, answer)
            wait = retry_after_seconds(answer.headers.get("retry-after"))
            self._sleep(min(wait or _BACKOFF_S * attempt, 30.0))
        raise AssertionError("unreachable")


def _decoded(method: str, path: str, answer: httpx.Response) -> dict[str, Any]:
    """The JSON body, or the error the status code means."""
    if answer.status_code == 404:
        raise NotFound(f"Prefect API {method} {path}: not found")
    if answer.status_code in (409, 422):
        raise InvalidRequest(f"Prefect refused {method} {path}: {_detail(answer)}")
    if answer.status_code >= 400:
        raise Unavailable(f"Prefect API {method} {path}: HTTP {answer.status_code}")
    data = answer.json()
    if not isinstance(data, dict):
        raise Unavailable(f"Prefect API {method} {path}: unexpected answer")
    return data


def _detail(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = None
    return str(detail or answer.text)[:500]


def main(argv: list[str] | None = None) -> int:
    """``python -m deployments.rest FLOW/DEPLOYMENT PARAMETERS_JSON --key KEY``."""
    parser = argparse.ArgumentParser(prog="python -m deployments.rest")
    parser.add_argument("deployment", help="flow-name/deployment-name")
    parser.add_argument("parameters", help="the run's parameters as JSON")
    parser.add_argument("--key", required=True, help="idempotency key (one run per key)")
    args = parser.parse_args(argv)
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        raise ConfigError("PREFECT_API_URL is not set", source="PREFECT_API_URL")
    key = os.environ.get("PREFECT_API_KEY")
    client = PrefectRest(api_url, SecretStr(key) if key else None)
    try:
        run = client.create_flow_run(args.deployment, json.loads(args.parameters), args.key)
    finally:
        client.close()
    print(json.dumps({"id": run.id, "name": run.name, "state": run.state}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
