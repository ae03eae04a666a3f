"""The one exception tree of Orchestra Ops.

Adapters translate HTTP, CLI and file failures into these types at the boundary
(``raise VercelNotFound(...) from http_error``); flows and tasks only ever see these.
Messages say what failed and what to do, and never contain a credential.

Two axes: the provider subtree says *where* it failed, the kind mix-in says *what*
happened, so ``except RateLimited`` catches a rate limit from any provider and
``except VercelError`` catches anything Vercel::

    OpsError
    ├── ConfigError                 bad settings or config file (names the variable/file)
    ├── ToolMissing                 an external program (pulumi, npm, ...) is not installed
    ├── HealthCheckFailed           a probe of a deployed thing did not pass
    ├── RolledBack                  a step failed after changing production, and was undone
    ├── RollbackFailed              a failed run could not be undone in full: run `recover`
    ├── TransientError              retrying may help (the retry condition of tasks)
    │   ├── Unavailable             5xx, timeouts, refused connections
    │   └── RateLimited             429; carries ``retry_after`` seconds when known
    ├── NotFound                    404-style answers
    ├── Conflict                    409-style answers, duplicates
    ├── Unauthorized                401/403: missing, wrong or expired credential
    ├── InvalidRequest              400-style answers the caller must fix
    ├── VercelError
    │   ├── VercelUnavailable       (+ Unavailable)
    │   ├── VercelRateLimited       (+ RateLimited)
    │   ├── VercelNotFound          (+ NotFound)
    │   ├── VercelConflict          (+ Conflict)
    │   ├── VercelUnauthorized      (+ Unauthorized)
    │   ├── VercelInvalidRequest    (+ InvalidRequest)
    │   └── DeploymentFailed        a build ended in ERROR or CANCELED
    ├── LambdaCloudError
    │   ├── LambdaUnavailable       (+ Unavailable)
    │   ├── LambdaRateLimited       (+ RateLimited)
    │   ├── LambdaNotFound          (+ NotFound)
    │   ├── LambdaConflict          (+ Conflict)
    │   ├── LambdaUnauthorized      (+ Unauthorized)
    │   ├── LambdaInvalidRequest    (+ InvalidRequest)
    │   ├── InsufficientCapacity    no capacity for a type in a region (HTTP 400 upstream)
    │   └── InstanceNotActive       an instance did not become active in time
    ├── StackError                  Pulumi programs and the engine
    │   ├── StackUnavailable        (+ Unavailable)
    │   ├── StackConflict           (+ Conflict) another update holds the stack lock
    │   └── StackNotFound           (+ NotFound)
    ├── ScanError                   a scanner crashed, its feed failed, or it skipped a dependency
    ├── SecurityGateFailed          findings at or above the policy threshold (or scan errors)
    └── ReorgError                  the Pulumi reorganisation cannot go on safely
"""

from __future__ import annotations


class OpsError(Exception):
    """Root of every error Orchestra Ops raises on purpose."""


class ConfigError(OpsError):
    """Settings or a configuration file are missing or invalid.

    ``source`` names the environment variable or file (and line) at fault.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class ToolMissing(OpsError):
    """An external program the step needs is not installed."""

    def __init__(self, tool: str, *, disables: str, install_hint: str) -> None:
        super().__init__(f"{tool} is not installed: {disables}. {install_hint}")
        self.tool = tool
        self.disables = disables
        self.install_hint = install_hint


class HealthCheckFailed(OpsError):
    """A health probe of a deployment or an instance did not pass."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"health check of {url} failed: {reason}")
        self.url = url
        self.reason = reason


class RolledBack(OpsError):
    """A step failed after it changed production, and was rolled back.

    ``restored`` is True when production passed its health gate again afterwards.
    """

    def __init__(self, message: str, *, restored: bool) -> None:
        super().__init__(message)
        self.restored = restored


class RollbackFailed(OpsError):
    """A failed run's compensation did not finish; what is left stays open in the ledger.

    ``open_steps`` says what is still to undo; ``retryable`` is True when the failures
    were transient (a later attempt may finish it).
    """

    def __init__(self, message: str, *, open_steps: list[str], retryable: bool) -> None:
        super().__init__(
            f"{message}; still to undo: {'; '.join(open_steps)}. "
            "Run `orchestra-ops recover` once the cause is fixed."
        )
        self.open_steps = open_steps
        self.retryable = retryable


# --- kinds: what happened, whatever the provider -------------------------------------


class TransientError(OpsError):
    """A failure that a later attempt may not meet; tasks retry only these."""


class Unavailable(TransientError):
    """The service did not answer usefully: 5xx, a timeout or a refused connection."""


class RateLimited(TransientError):
    """The service throttled us; ``retry_after`` is its advised wait in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(OpsError):
    """The object asked for does not exist."""


class Conflict(OpsError):
    """The request conflicts with the current state (a duplicate, a lock, a race)."""


class Unauthorized(OpsError):
    """The credential is missing, invalid, expired or lacks permission."""


class InvalidRequest(OpsError):
    """The service refused the request as malformed; retrying the same request will not help."""


# --- Vercel ----------------------------------------------------------------------------


class VercelError(OpsError):
    """Anything that went wrong talking to Vercel."""


class VercelUnavailable(VercelError, Unavailable):
    """Vercel answered 5xx or did not answer in time."""


class VercelRateLimited(VercelError, RateLimited):
    """Vercel answered 429."""


class VercelNotFound(VercelError, NotFound):
    """A Vercel project, deployment, alias or env var does not exist."""


class VercelConflict(VercelError, Conflict):
    """Vercel refused a request that conflicts with the current state."""


class VercelUnauthorized(VercelError, Unauthorized):
    """VERCEL_TOKEN is missing, invalid or lacks access to the team."""


class VercelInvalidRequest(VercelError, InvalidRequest):
    """Vercel refused a request as malformed."""


class DeploymentFailed(VercelError):
    """A Vercel deployment ended in ERROR or CANCELED instead of READY."""

    def __init__(self, deployment_id: str, state: str, detail: str = "") -> None:
        suffix = f": {detail}" if detail else ""
        super().__init__(f"deployment {deployment_id} ended in {state}{suffix}")
        self.deployment_id = deployment_id
        self.state = state


# --- Lambda Cloud ----------------------------------------------------------------------


class LambdaCloudError(OpsError):
    """Anything that went wrong talking to Lambda Cloud.

    ``code`` is Lambda's machine-readable error code (e.g. ``global/quota-exceeded``)
    when the API gave one; match on it, never on the message.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class LambdaUnavailable(LambdaCloudError, Unavailable):
    """Lambda Cloud answered 5xx or did not answer in time."""


class LambdaRateLimited(LambdaCloudError, RateLimited):
    """Lambda Cloud answered 429 (launches are limited to one per 12 s)."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        LambdaCloudError.__init__(self, message, code=code)
        self.retry_after = retry_after


class LambdaNotFound(LambdaCloudError, NotFound):
    """An instance, instance type, ssh key, filesystem or ruleset does not exist."""


class LambdaConflict(LambdaCloudError, Conflict):
    """A duplicate name, or an object still in use."""


class LambdaUnauthorized(LambdaCloudError, Unauthorized):
    """LAMBDA_LABS_API_KEY is missing, invalid, or the account is inactive."""


class LambdaInvalidRequest(LambdaCloudError, InvalidRequest):
    """Lambda Cloud refused the request parameters."""


class InsufficientCapacity(LambdaCloudError):
    """No capacity for ``instance_type`` in ``region``; another region or type may have some."""

    def __init__(self, message: str, *, region: str, instance_type: str) -> None:
        super().__init__(message, code="instance-operations/launch/insufficient-capacity")
        self.region = region
        self.instance_type = instance_type


class InstanceNotActive(LambdaCloudError):
    """An instance did not reach ``active`` within its timeout."""

    def __init__(self, instance_id: str, status: str, waited_s: float) -> None:
        super().__init__(
            f"instance {instance_id} is still {status!r} after {waited_s:.0f} s; it was not adopted"
        )
        self.instance_id = instance_id
        self.status = status


# --- Pulumi, scanners, reorganisation --------------------------------------------------


class StackError(OpsError):
    """A Pulumi program, stack or engine operation failed."""


class StackUnavailable(StackError, Unavailable):
    """The state backend or the engine could not be reached."""


class StackConflict(StackError, Conflict):
    """Another update holds the stack's lock."""


class StackNotFound(StackError, NotFound):
    """The stack or project does not exist in the backend."""


class ScanError(OpsError):
    """A scanner crashed, its advisory feed failed, or it skipped a dependency.

    A scan error is never a pass: the security gate treats it as a failure.
    """


class SecurityGateFailed(OpsError):
    """The security gate failed: findings at or above the threshold, or a scan error."""


class ReorgError(OpsError):
    """The Pulumi reorganisation cannot go on without risking a half-moved tree."""


def is_transient(error: BaseException) -> bool:
    """Tell whether retrying the same call may succeed (used as tasks' retry condition)."""
    if isinstance(error, RollbackFailed):
        return error.retryable
    return isinstance(error, TransientError)
