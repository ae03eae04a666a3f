"""Start the whole sandbox on loopback and describe where everything is.

Used in-process by tests and the demo, and by `orchestra-ops sandbox`, which writes the
endpoints file and a worker's env file, and keeps serving until SIGINT or SIGTERM.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from orchestra_ops.errors import ConfigError
from orchestra_ops.sandbox.admin import AdministeredEmulator, admin_app
from orchestra_ops.sandbox.feeds import Feeds
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.lambda_cloud.emulator import HEALTH_PROXY_PATH
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread, stop_all
from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN, VercelEmulator

SANDBOX_VERCEL_TOKEN = VERCEL_SANDBOX_TOKEN  # the emulator's own token, in Vercel's format
SANDBOX_LAMBDA_KEY = "sandbox-lambda-key"
SANDBOX_TEAM_ID = "team_sandbox"

# A worker pointed at the sandbox keeps its stacks in its own state directory (a file
# backend, generated passphrase), never in the Pulumi account its shell may be logged into.
SANDBOX_STACKS = {
    "ORCHESTRA_STACK_ENGINE": "pulumi",
    "PULUMI_ACCESS_TOKEN": "",
    "PULUMI_BACKEND_URL": "",
    "PULUMI_CONFIG_PASSPHRASE": "",
}


@dataclass(frozen=True)
class Endpoints:
    """Where each sandbox piece listens, and the emulators' own (not real) credentials."""

    vercel_api_url: str
    vercel_token: str
    vercel_team_id: str
    vercel_edge_url: str
    lambda_api_url: str
    lambda_api_key: str
    lambda_health_url_template: str
    osv_api_url: str
    npm_registry_url: str
    safety_auth_server_url: str
    safety_db_dir: str
    admin_url: str

    def as_environment(self) -> dict[str, str]:
        """The settings variables that point Orchestra Ops at this sandbox."""
        return {
            "VERCEL_API_URL": self.vercel_api_url,
            "VERCEL_TOKEN": self.vercel_token,
            "VERCEL_ORG_ID": self.vercel_team_id,
            "VERCEL_EDGE_URL": self.vercel_edge_url,
            "LAMBDA_LABS_API_URL": self.lambda_api_url,
            "LAMBDA_LABS_API_KEY": self.lambda_api_key,
            "LAMBDA_LABS_HEALTH_URL_TEMPLATE": self.lambda_health_url_template,
            "ORCHESTRA_OSV_API_URL": self.osv_api_url,
            "ORCHESTRA_NPM_REGISTRY_URL": self.npm_registry_url,
            "ORCHESTRA_SAFETY_AUTH_SERVER_URL": self.safety_auth_server_url,
            "ORCHESTRA_SAFETY_DB_DIR": self.safety_db_dir,
        }


class Sandbox:
    """Every emulator and feed, served on 127.0.0.1 with free ports."""

    def __init__(
        self, state_dir: Path, *, boot_delay_s: float = 0.0, build_delay_s: float = 0.0
    ) -> None:
        self.state_dir = state_dir
        self.vercel = VercelEmulator(
            token=SANDBOX_VERCEL_TOKEN, team_id=SANDBOX_TEAM_ID, build_delay_s=build_delay_s
        )
        self.lambda_cloud = LambdaCloudEmulator(
            api_key=SANDBOX_LAMBDA_KEY, boot_delay_s=boot_delay_s
        )
        self.feeds = Feeds()
        self._served: list[ServedApp] = []
        self.endpoints: Endpoints | None = None

    def start(self) -> Endpoints:
        """Serve everything; returns the endpoints."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        safety_db = (self.state_dir / "safety-db").resolve()
        self.feeds.write_safety_db(safety_db)
        emulators: dict[str, AdministeredEmulator] = {
            "vercel": self.vercel,
            "lambda": self.lambda_cloud,
            **self.feeds.administered(),
        }
        try:
            vercel = self._serve(self.vercel.app(), "vercel-api")
            edge = self._serve(self.vercel.edge_app(), "vercel-edge")
            lambda_api = self._serve(self.lambda_cloud.app(), "lambda-api")
            osv = self._serve(self.feeds.osv_app(), "osv")
            npm = self._serve(self.feeds.npm_app(), "npm-registry")
            safety = self._serve(self.feeds.safety_app(), "safety-auth")
            admin = self._serve(admin_app(emulators), "sandbox-admin")
        except Exception:
            self.stop()
            raise
        self.endpoints = Endpoints(
            vercel_api_url=vercel.url,
            vercel_token=SANDBOX_VERCEL_TOKEN,
            vercel_team_id=SANDBOX_TEAM_ID,
            vercel_edge_url=edge.url,
            lambda_api_url=lambda_api.url,
            lambda_api_key=SANDBOX_LAMBDA_KEY,
            lambda_health_url_template=lambda_api.url + HEALTH_PROXY_PATH,
            osv_api_url=osv.url,
            npm_registry_url=npm.url,
            safety_auth_server_url=safety.url,
            safety_db_dir=str(safety_db),
            admin_url=admin.url,
        )
        return self.endpoints

    def _serve(self, app: object, name: str) -> ServedApp:
        served = serve_in_thread(app, name=name)  # type: ignore[arg-type]
        self._served.append(served)
        return served

    def stop(self) -> None:
        """Stop every server (and the instances' health endpoints)."""
        stop_all(reversed(self._served))
        self._served.clear()
        self.lambda_cloud.close()

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def endpoints_text(endpoints: Endpoints) -> str:
    """The endpoints file: every URL and token of the running sandbox, as JSON."""
    return json.dumps(asdict(endpoints), indent=2)


def check_writable(path: Path, what: str) -> None:
    """Make sure ``path`` can be written (atomically), before anything starts.

    Raises ConfigError naming ``what``, the path and the reason, in one line.
    """
    probe = path.with_name(f"{path.name}.{os.getpid()}.probe")  # never a file of the user's
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        probe.unlink()
    except OSError as error:
        # mkdir says "File exists" when a parent is a file: say what is wrong with it.
        reason = "Not a directory" if isinstance(error, FileExistsError) else error.strerror
        where = f"{error.filename}: " if error.filename not in (None, str(probe)) else ""
        message = f"cannot write the {what} {path}: {where}{reason or error}"
        raise ConfigError(message, source=str(path)) from None


def worker_env_text(endpoints: Endpoints, state_dir: Path) -> str:
    """A shell- and dotenv-readable file that points a worker's settings at the sandbox.

    ``state_dir`` is written absolute: a deployment run works in a fresh clone that is
    deleted after it, so a relative state directory (the default) would lose the ledger,
    the stacks' file backend and the owner id with every run.
    """
    lines = [
        "# Orchestra Ops sandbox: the settings that point a worker at it. Source it in the",
        "# worker's shell before `prefect worker start`: . THIS_FILE",
        "# It holds the sandbox's own tokens (not real credentials), points the stacks at a",
        "# file backend in the worker's state directory, and goes when the sandbox stops.",
    ]
    values = {
        **endpoints.as_environment(),
        **SANDBOX_STACKS,
        "ORCHESTRA_STATE_DIR": str(state_dir.resolve()),
    }
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"
