"""The HTTP face of the emulator: routes under ``/api/v1``, auth, envelopes.

Auth accepts ``Bearer <key>``, ``Basic base64("<key>:")`` and ``Basic <key>``; anything
else is 401 ``global/invalid-api-key``. Unknown paths answer 404 in the error envelope.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestra_ops.sandbox.lambda_cloud import validation
from orchestra_ops.sandbox.lambda_cloud.envelope import (
    INVALID_API_KEY,
    INVALID_PARAMETERS,
    NOT_FOUND,
    RATE_LIMITED_CODE,
    ApiError,
    invalid,
    ok,
)
from orchestra_ops.sandbox.lambda_cloud.instances_net import HealthServers
from orchestra_ops.sandbox.lambda_cloud.state import LambdaState

PREFIX = "/api/v1"
Handler = Callable[[Request], Awaitable[Any]]


def key_from_header(header: str | None) -> str | None:
    """The API key an ``Authorization`` header carries, in any accepted scheme."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer":
        return token
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, _ = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return token  # the spec also allows the bare key after "Basic"
    return user if colon else token


class _Auth:
    """ASGI middleware answering 401 unless the request carries the key."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            key = key_from_header(header)
            if key is None or not secrets.compare_digest(key.encode(), self.api_key):
                error = ApiError(401, INVALID_API_KEY, "API key was invalid, expired, or deleted.")
                await error.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError as error:
        raise invalid("the request body must be JSON") from error
    return validation.obj(data)


class _Api:
    """The endpoints; each returns the ``data`` payload or raises ApiError."""

    def __init__(self, state: LambdaState) -> None:
        self.state = state
        self.res = state.resources

    async def _locked(self, call: Callable[[], Any]) -> Any:
        with self.state.lock:
            return call()

    async def _with_body(self, request: Request, call: Callable[[dict[str, Any]], Any]) -> Any:
        body = await _body(request)
        with self.state.lock:
            return call(body)

    async def list_instances(self, request: Request) -> Any:
        return self.state.list_instances()

    async def get_instance(self, request: Request) -> Any:
        return self.state.get_instance(_id(request))

    async def rename(self, request: Request) -> Any:
        return self.state.rename(_id(request), await _body(request))

    async def instance_types(self, request: Request) -> Any:
        return self.state.instance_types()

    async def launch(self, request: Request) -> Any:
        retry_after = self.state.launch_retry_after()
        if retry_after is not None:
            error = ApiError(429, RATE_LIMITED_CODE, "Launches are limited; wait and retry.")
            return error.response(headers={"Retry-After": str(int(retry_after))})
        return {"instance_ids": self.state.launch(await _body(request))}

    async def restart(self, request: Request) -> Any:
        return {"restarted_instances": self.state.restart(await _body(request))}

    async def terminate(self, request: Request) -> Any:
        return {"terminated_instances": self.state.terminate(await _body(request))}

    async def list_ssh_keys(self, request: Request) -> Any:
        return await self._locked(lambda: list(self.res.ssh_keys.values()))

    async def add_ssh_key(self, request: Request) -> Any:
        return await self._with_body(request, self.res.add_ssh_key)

    async def delete_ssh_key(self, request: Request) -> Any:
        with self.state.lock:
            self.res.delete_ssh_key(_id(request))
        return {}

    async def list_filesystems(self, request: Request) -> Any:
        with self.state.lock:
            return self.res.filesystem_list(self.state.used_filesystem_names())

    async def create_filesystem(self, request: Request) -> Any:
        return await self._with_body(request, self.res.create_filesystem)

    async def delete_filesystem(self, request: Request) -> Any:
        with self.state.lock:
            self.res.delete_filesystem(_id(request), self.state.used_filesystem_names())
        return {"deleted_ids": [_id(request)]}

    async def images(self, request: Request) -> Any:
        return self.state.images()

    async def firewall_rules(self, request: Request) -> Any:
        return await self._locked(lambda: self.res.global_rules)

    async def put_firewall_rules(self, request: Request) -> Any:
        rules = validation.rules((await _body(request)).get("data"))
        with self.state.lock:
            self.res.global_rules = rules
        return rules

    async def list_rulesets(self, request: Request) -> Any:
        return await self._locked(lambda: list(self.res.rulesets.values()))

    async def create_ruleset(self, request: Request) -> Any:
        return await self._with_body(request, self.res.create_ruleset)

    async def get_global(self, request: Request) -> Any:
        return await self._locked(self.res.global_ruleset)

    async def patch_global(self, request: Request) -> Any:
        body = await _body(request)
        if set(body) - {"rules"}:
            raise invalid("only rules can be changed on the global ruleset")
        with self.state.lock:
            if "rules" in body:
                self.res.global_rules = validation.rules(body["rules"])
            return self.res.global_ruleset()

    async def get_ruleset(self, request: Request) -> Any:
        return await self._locked(lambda: self.res.ruleset(_id(request)))

    async def patch_ruleset(self, request: Request) -> Any:
        return await self._with_body(request, lambda b: self.res.patch_ruleset(_id(request), b))

    async def delete_ruleset(self, request: Request) -> Any:
        with self.state.lock:
            self.res.delete_ruleset(_id(request), self.state.used_ruleset_ids())
        return {}

    def table(self) -> list[tuple[str, str, Handler]]:
        """(method, path, handler) of every route, specific paths first."""
        return [
            ("GET", "/instances", self.list_instances),
            ("GET", "/instances/{id}", self.get_instance),
            ("POST", "/instances/{id}", self.rename),
            ("GET", "/instance-types", self.instance_types),
            ("POST", "/instance-operations/launch", self.launch),
            ("POST", "/instance-operations/restart", self.restart),
            ("POST", "/instance-operations/terminate", self.terminate),
            ("GET", "/ssh-keys", self.list_ssh_keys),
            ("POST", "/ssh-keys", self.add_ssh_key),
            ("DELETE", "/ssh-keys/{id}", self.delete_ssh_key),
            ("GET", "/file-systems", self.list_filesystems),
            ("POST", "/filesystems", self.create_filesystem),
            ("DELETE", "/filesystems/{id}", self.delete_filesystem),
            ("GET", "/images", self.images),
            ("GET", "/firewall-rules", self.firewall_rules),
            ("PUT", "/firewall-rules", self.put_firewall_rules),
            ("GET", "/firewall-rulesets", self.list_rulesets),
            ("POST", "/firewall-rulesets", self.create_ruleset),
            ("GET", "/firewall-rulesets/global", self.get_global),
            ("PATCH", "/firewall-rulesets/global", self.patch_global),
            ("GET", "/firewall-rulesets/{id}", self.get_ruleset),
            ("PATCH", "/firewall-rulesets/{id}", self.patch_ruleset),
            ("DELETE", "/firewall-rulesets/{id}", self.delete_ruleset),
        ]


def _id(request: Request) -> str:
    return str(request.path_params["id"])


def build_app(state: LambdaState, net: HealthServers, api_key: str) -> ASGIApp:
    """The emulator's API app (auth included, faults not)."""

    def route(method: str, path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                answer = await handler(request)
                response = answer if isinstance(answer, Response) else ok(answer)
            except ApiError as error:
                response = error.response()
            active = state.active_ids()
            if net.needs_sync(active):
                # Before answering: a client told "active" may probe the endpoint at once.
                await run_in_threadpool(net.sync, active)
            return response

        return Route(PREFIX + path, endpoint, methods=[method])

    routes = [route(*row) for row in _Api(state).table()]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return _Auth(app, api_key)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = NOT_FOUND if status == 404 else INVALID_PARAMETERS
    return ApiError(status, code, f"No such route: {request.method} {request.url.path}").response()
