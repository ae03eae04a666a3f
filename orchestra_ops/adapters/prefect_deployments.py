"""Deployments and their flow runs, through Prefect's own client (PREFECT_API_URL).

The one place ``orchestra-ops trigger`` talks to the server. Prefect's answers become
this project's errors at the boundary: 404 -> ``NotFound``, a refused request (400, 409,
422) -> ``InvalidRequest`` carrying the server's own words, 401/403 -> ``Unauthorized``,
a refused connection or a 5xx after Prefect's own retries -> ``Unavailable``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL
from pydantic import ValidationError

from orchestra_ops.domain.redaction import safe_url
from orchestra_ops.errors import ConfigError, InvalidRequest, NotFound, Unauthorized, Unavailable
from orchestra_ops.trigger import Deployment, RunState


class PrefectDeployments:
    """``DeploymentClient`` over ``get_client(sync_client=True)``; use it as a context."""

    def __init__(self) -> None:
        url = PREFECT_API_URL.value()
        if not url:  # get_client() would start a throwaway in-process server instead
            raise ConfigError(
                "PREFECT_API_URL is not set: point it at your Prefect server's API "
                "(e.g. http://127.0.0.1:4200/api)",
                source="PREFECT_API_URL",
            )
        self.url = safe_url(str(url))  # said in errors: never a user:password in it
        self._client: SyncPrefectClient | None = None

    def __enter__(self) -> PrefectDeployments:
        self._client = get_client(sync_client=True)
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)

    @property
    def client(self) -> SyncPrefectClient:
        """The open Prefect client."""
        if self._client is None:
            raise RuntimeError("PrefectDeployments is used outside its `with` block")
        return self._client

    def deployment(self, name: str) -> Deployment:
        """``flow/deployment``, or a deployment name that only one flow uses. A deployment
        not found where no Prefect API answers (a wrong port, a URL without ``/api``) is
        Unavailable, not NotFound."""
        try:
            return self._deployment(name)
        except NotFound as error:
            if self.client.api_healthcheck() is not None:
                raise Unavailable(
                    f"deployment {name!r}: {self.url} does not answer as a Prefect API "
                    "(GET /health fails there): check PREFECT_API_URL (it ends in /api)"
                ) from error
            raise

    def _deployment(self, name: str) -> Deployment:
        if not name.strip():
            raise InvalidRequest("no deployment named: give flow-name/deployment-name")
        with self._translated(f"deployment {name!r}"):
            if "/" not in name:
                found = self.client.read_deployments(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name]))
                )
                if len(found) > 1:
                    raise InvalidRequest(
                        f"deployment {name!r} exists for several flows: give it as flow-name/{name}"
                    )
                if not found:
                    raise NotFound(f"deployment {name!r}: not found on {self.url}")
                answer = found[0]
                name = f"{self.client.read_flow(answer.flow_id).name}/{answer.name}"
            elif name.count("/") != 1 or not all(name.split("/")):
                raise InvalidRequest(
                    f"deployment {name!r}: give it as flow-name/deployment-name, or a "
                    "deployment name alone"
                )
            else:
                answer = self.client.read_deployment_by_name(name)
        options = answer.concurrency_options
        return Deployment(
            id=str(answer.id),
            name=name,
            parameter_schema=dict(answer.parameter_openapi_schema or {}),
            enforces_schema=bool(answer.enforce_parameter_schema),
            defaults=dict(answer.parameters or {}),
            concurrency_limit=answer.concurrency_limit,
            collision_strategy=str(options.collision_strategy.value) if options else None,
        )

    def create_run(
        self, deployment: Deployment, parameters: dict[str, Any], idempotency_key: str | None
    ) -> RunState:
        """A new run (or the one ``idempotency_key`` already created)."""
        with self._translated(f"creating a run of {deployment.name}"):
            run = self.client.create_flow_run_from_deployment(
                UUID(deployment.id), parameters=parameters, idempotency_key=idempotency_key
            )
        return _state(run)

    def run(self, run_id: str) -> RunState:
        """The run as the server sees it now."""
        with self._translated(f"reading run {run_id}"):
            return _state(self.client.read_flow_run(UUID(run_id)))

    def _translated(self, what: str) -> _Translate:
        return _Translate(what, self.url)


class _Translate:
    """Turns Prefect client and transport errors into this project's, inside a ``with``."""

    def __init__(self, what: str, url: str) -> None:
        self.what, self.url = what, url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, _tb: object) -> None:
        if error is None or not isinstance(error, Exception):
            return
        if isinstance(error, ObjectNotFound):
            raise NotFound(f"{self.what}: not found on {self.url}") from error
        if isinstance(error, PrefectHTTPStatusError):
            raise _from_status(self.what, self.url, error.response) from error
        if isinstance(error, ValidationError):  # an answer, but not a Prefect API's
            raise Unavailable(
                f"{self.what}: {self.url} answered something that is not a Prefect API's "
                "answer: check PREFECT_API_URL"
            ) from None  # the body may hold anything: it is not repeated
        if isinstance(error, httpx.TransportError):
            raise Unavailable(
                f"{self.what}: cannot reach the Prefect server at {self.url} "
                f"({type(error).__name__})"
            ) from error


def _from_status(what: str, url: str, response: httpx.Response) -> Exception:
    status = response.status_code
    if status in (400, 409, 422):
        return InvalidRequest(f"{what}: the server refused it: {_detail(response)}")
    if status in (401, 403):
        return Unauthorized(f"{what}: HTTP {status} from {url}: check PREFECT_API_KEY")
    return Unavailable(f"{what}: HTTP {status} from {url}")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail if detail is not None else body)[:500]


def _state(run: FlowRun) -> RunState:
    state = run.state
    return RunState(
        id=str(run.id),
        name=run.name,
        type=state.type.value if state else "UNKNOWN",
        state_name=(state.name if state else None) or "Unknown",
        message=state.message if state else None,
        created=run.created,
        parameters=dict(run.parameters),
        url=f"{ui}/runs/flow-run/{run.id}" if (ui := PREFECT_UI_URL.value()) else None,
    )
