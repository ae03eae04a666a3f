"""Lambda's envelopes: ``{"data": ...}`` and ``{"error": {code, message, suggestion?}}``.

``suggestion`` is sent exactly where spec 1.8.3 makes it required, with the spec's
default texts; elsewhere it is left out.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

RATE_LIMITED_CODE = "sandbox/rate-limited"
"""Emulator-chosen: the real 429 body is unverified, so the code is marked ``sandbox/``."""

INVALID_API_KEY = "global/invalid-api-key"
NOT_FOUND = "global/object-does-not-exist"
INVALID_PARAMETERS = "global/invalid-parameters"
DUPLICATE = "global/duplicate"
INTERNAL = "global/internal-error"
INSUFFICIENT_CAPACITY = "instance-operations/launch/insufficient-capacity"
WRONG_REGION = "instance-operations/launch/file-system-in-wrong-region"
FILESYSTEM_IN_USE = "filesystems/filesystem-in-use"
RULESET_IN_USE = "firewall-rulesets/firewall-ruleset-in-use"
PROVIDER_UNAVAILABLE = "provider/internal-unavailable"

SUGGESTIONS = {
    INVALID_API_KEY: "Check your API key or create a new one, then try again.",
    "global/account-inactive": (
        "Make sure you have verified your email address and have a valid payment method. "
        "Contact Support if problems continue."
    ),
    "global/quota-exceeded": "Contact Support to increase your quota.",
    INTERNAL: "Try again later. Contact Support if the problem persists.",
    RULESET_IN_USE: "Terminate all instances that are using the ruleset before deleting it.",
    PROVIDER_UNAVAILABLE: "Try again shortly",
}


class ApiError(Exception):
    """An error answer: HTTP status plus Lambda's error object."""

    def __init__(self, status: int, code: str, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.suggestion = suggestion if suggestion is not None else SUGGESTIONS.get(code)

    def body(self) -> dict[str, Any]:
        """The error envelope."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.suggestion is not None:
            error["suggestion"] = self.suggestion
        return {"error": error}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        """The answer to send."""
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid(message: str) -> ApiError:
    """400 global/invalid-parameters."""
    return ApiError(400, INVALID_PARAMETERS, message)


def not_found(message: str = "Specified instance does not exist.", **kw: Any) -> ApiError:
    """404 global/object-does-not-exist."""
    return ApiError(404, NOT_FOUND, message, **kw)


def ok(data: Any) -> JSONResponse:
    """200 with the success envelope."""
    return JSONResponse({"data": data})


def error_body_for_status(status: int) -> dict[str, Any]:
    """The envelope an injected fault answers with, by status."""
    by_status = {
        400: (INVALID_PARAMETERS, "Invalid request data."),
        401: (INVALID_API_KEY, "API key was invalid, expired, or deleted."),
        403: ("global/account-inactive", "Your account is inactive."),
        404: (NOT_FOUND, "Specified instance does not exist."),
        409: (INTERNAL, "An internal server error occurred."),
        429: (RATE_LIMITED_CODE, "Too many requests (sandbox rate limit)."),
        500: (INTERNAL, "An internal server error occurred."),
    }
    code, message = by_status.get(status, (PROVIDER_UNAVAILABLE, "Provider unavailable"))
    return ApiError(status, code, message).body()
