"""The one composition root: concrete adapters built from settings, nowhere else.

Clients are built on first use, so a flow that never calls Vercel needs no Vercel
token; asking for one without its credential raises a ConfigError naming the variable.
:func:`for_process` keeps one ``Clients`` per distinct settings for the process, so
tasks share connection pools instead of building clients on every call.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestra_ops.adapters._http import ClosesOnExit
from orchestra_ops.adapters.backups import BackupStore, load_or_create_key
from orchestra_ops.adapters.build_cache import BuildCache
from orchestra_ops.adapters.health import HttpProber
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.node_build import NodeBuild
from orchestra_ops.adapters.notify import WebhookNotifier
from orchestra_ops.adapters.pulumi.backend import (
    check_owner_file,
    known_state_owner,
    state_owner,
)
from orchestra_ops.adapters.pulumi.programs import our_program
from orchestra_ops.adapters.reorg_apply import ReorgApplier
from orchestra_ops.adapters.update_config import UpdateConfigFiles
from orchestra_ops.adapters.vercel import VercelClient
from orchestra_ops.errors import ConfigError
from orchestra_ops.ledger import Ledger
from orchestra_ops.ports.app_build import AppBuild
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi
from orchestra_ops.ports.notifier import Notifier
from orchestra_ops.ports.repository import ReorgRepository
from orchestra_ops.ports.scanner import Scanner
from orchestra_ops.ports.stack_engine import StackEngine
from orchestra_ops.ports.stack_state import StateMigrator
from orchestra_ops.ports.update_config import UpdateConfig
from orchestra_ops.ports.vercel import VercelApi
from orchestra_ops.settings import Settings, require

EngineFactory = Callable[[Settings, Path], StackEngine]


@dataclass
class Clients(ClosesOnExit):
    """The adapters for one run; close them (or use ``with``) when done."""

    settings: Settings
    _vercel: VercelClient | None = field(default=None, repr=False)
    _lambda_cloud: LambdaCloudClient | None = field(default=None, repr=False)
    _notifier: WebhookNotifier | None = field(default=None, repr=False)
    _stack_engine: StackEngine | None = field(default=None, repr=False)
    _prober: HttpProber | None = field(default=None, repr=False)
    _instance_prober: HttpProber | None = field(default=None, repr=False)

    def vercel(self) -> VercelApi:
        """The Vercel API client (needs VERCEL_TOKEN)."""
        if self._vercel is None:
            config = self.settings.vercel
            token = require(config.token, "VERCEL_TOKEN", "to call the Vercel API")
            self._vercel = VercelClient(
                config.api_url, token, team_id=config.team_id, timeout_s=config.timeout_s
            )
        return self._vercel

    def lambda_cloud(self) -> LambdaCloudApi:
        """The Lambda Cloud API client (needs LAMBDA_LABS_API_KEY)."""
        if self._lambda_cloud is None:
            config = self.settings.lambda_cloud
            key = require(config.api_key, "LAMBDA_LABS_API_KEY", "to call the Lambda Cloud API")
            self._lambda_cloud = LambdaCloudClient(config.api_url, key, timeout_s=config.timeout_s)
        return self._lambda_cloud

    def stack_engine(self) -> StackEngine:
        """The stack engine ORCHESTRA_STACK_ENGINE names (the Pulumi CLI by default).

        Raises ToolMissing when the Pulumi CLI is not installed.
        """
        if self._stack_engine is None:
            state_dir = self.settings.runtime.state_dir
            choice = self.settings.runtime.stack_engine
            if choice == "pulumi":
                from orchestra_ops.adapters.pulumi.cli import provider_environment
                from orchestra_ops.adapters.pulumi.engine import PulumiEngine

                self._stack_engine = PulumiEngine(
                    self.settings.pulumi,
                    state_dir,
                    provider_env=provider_environment(self.settings.lambda_cloud),
                )
            else:
                self._stack_engine = _made_engine(choice, self.settings, state_dir)
        return self._stack_engine

    def notifier(self) -> Notifier | None:
        """The webhook notifier, or None when ORCHESTRA_NOTIFY_WEBHOOK_URL is unset."""
        config = self.settings.notify
        if self._notifier is None and config.webhook_url is not None:
            self._notifier = WebhookNotifier(config.webhook_url, config.timeout_s)
        return self._notifier

    def prober(self) -> HttpProber:
        """HTTP health probes (through the sandbox edge when VERCEL_EDGE_URL is set)."""
        if self._prober is None:
            self._prober = HttpProber(edge_url=self.settings.vercel.edge_url)
        return self._prober

    def instance_prober(self) -> HttpProber:
        """HTTP health probes of the API instances, straight to them (never the edge)."""
        if self._instance_prober is None:
            self._instance_prober = HttpProber()
        return self._instance_prober

    def reorg_repository(self, repo: Path) -> ReorgRepository:
        """The git work tree a reorganisation is carried out on (journaled in ``.git``)."""
        return ReorgApplier(repo)

    def scanner(self) -> Scanner:
        """pip-audit, safety and npm audit against the feeds of the scan settings."""
        from orchestra_ops.adapters.scanners.run import ToolScanner

        return ToolScanner(self.settings.scan)

    def state_migrator(self, org: str) -> StateMigrator:
        """Pulumi stack state moves in the engine's backend (ToolMissing without the CLI)."""
        from orchestra_ops.adapters.pulumi.cli import provider_environment
        from orchestra_ops.adapters.pulumi.state import PulumiStateMigrator

        return PulumiStateMigrator(
            self.settings.pulumi,
            self.settings.runtime.state_dir,
            org=org,
            provider_env=provider_environment(self.settings.lambda_cloud),
        )

    def state_owner(self) -> str:
        """The id that marks what this state's stacks launch (see ``adapters.pulumi.backend``)."""
        return state_owner(self.settings.pulumi, self.settings.runtime.state_dir)

    def known_state_owner(self) -> str | None:
        """:meth:`state_owner` without making one: None when this state launched nothing."""
        return known_state_owner(self.settings.pulumi, self.settings.runtime.state_dir)

    def check_stack_projects(self, project_dirs: Sequence[Path]) -> None:
        """ConfigError, before any stack is touched, for a project that does not run one of
        our programs, or a state whose owner file is damaged (writes nothing)."""
        for project_dir in project_dirs:
            our_program(project_dir)
        check_owner_file(self.settings.pulumi, self.settings.runtime.state_dir)

    def ledger(self) -> Ledger:
        """The durable rollback ledger of the state directory."""
        return Ledger.of(self.settings.runtime.state_dir)

    def build_cache(self) -> BuildCache | None:
        """Preflight builds kept by their inputs (``ORCHESTRA_BUILD_CACHE_DIR``; None when
        it is set empty)."""
        directory = self.settings.runtime.build_cache_dir
        return None if directory is None else BuildCache(directory)

    def update_config(self) -> UpdateConfig:
        """The generated update-bot configuration and security workflows of a repository."""
        return UpdateConfigFiles(self.settings.generated)

    def app_build(self) -> AppBuild:
        """The frontend preflight build, reusing the builds the build cache keeps."""
        return NodeBuild(self.build_cache())

    def backups(self) -> BackupStore:
        """What rollbacks restore, kept before it changes (env snapshots encrypted)."""
        runtime = self.settings.runtime
        key = runtime.state_key or load_or_create_key(runtime.state_key_file)
        return BackupStore(runtime.state_dir / "backups", key)

    def close(self) -> None:
        """Close every client built so far."""
        for client in (
            self._vercel,
            self._lambda_cloud,
            self._notifier,
            self._prober,
            self._instance_prober,
        ):
            if client is not None:
                client.close()
        self._vercel = self._lambda_cloud = self._notifier = self._prober = None
        self._instance_prober = None


def _made_engine(spec: str, settings: Settings, state_dir: Path) -> StackEngine:
    """The engine the factory named by ``spec`` makes; a ConfigError when it makes none."""
    try:
        engine = engine_factory(spec)(settings, state_dir)
    except TypeError as error:  # e.g. a function of other arguments (kept as the cause)
        raise ConfigError(
            f"ORCHESTRA_STACK_ENGINE={spec!r} failed when called with (settings, state_dir): "
            f"{error}",
            source="ORCHESTRA_STACK_ENGINE",
        ) from error
    missing = [name for name in _ENGINE_METHODS if not callable(getattr(engine, name, None))]
    if missing:
        raise ConfigError(
            f"ORCHESTRA_STACK_ENGINE={spec!r} made {type(engine).__name__}, not a stack "
            f"engine (no {', '.join(missing)})",
            source="ORCHESTRA_STACK_ENGINE",
        )
    return engine


_ENGINE_METHODS = (
    "select_or_create",
    "select",
    "set_config",
    "up",
    "outputs",
    "destroy",
    "export",
)


def engine_factory(spec: str) -> EngineFactory:
    """Import ``package.module:factory``; a clear ConfigError when it cannot be found."""
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr) if attr else None
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            f"ORCHESTRA_STACK_ENGINE={spec!r} cannot be imported ({error}); use `pulumi` or "
            "`package.module:factory`",
            source="ORCHESTRA_STACK_ENGINE",
        ) from error
    if not callable(factory):
        raise ConfigError(
            f"ORCHESTRA_STACK_ENGINE={spec!r} is not `pulumi` or `package.module:factory`",
            source="ORCHESTRA_STACK_ENGINE",
        )
    try:  # the factory is called (settings, state_dir): a callable that cannot be is refused
        inspect.signature(factory).bind(None, None)
    except TypeError as error:
        raise ConfigError(
            f"ORCHESTRA_STACK_ENGINE={spec!r} is no engine factory: it must take "
            f"(settings, state_dir) and return a stack engine ({error})",
            source="ORCHESTRA_STACK_ENGINE",
        ) from None
    except ValueError:  # a builtin without a readable signature: found out when called
        pass
    return factory  # type: ignore[no-any-return]


def build(settings: Settings) -> Clients:
    """The clients for ``settings``."""
    return Clients(settings)


_PROCESS_CLIENTS: dict[Settings, Clients] = {}
_PROCESS_LOCK = threading.Lock()


def for_process(settings: Settings) -> Clients:
    """The process's clients for ``settings``, built once and kept open.

    In a deployment's run the state directory must be absolute: the run works in a fresh
    clone deleted after it, and a relative one would go with it (ledger, stacks, owner id).
    """
    if not settings.runtime.state_dir.is_absolute() and _deployment_run():
        raise ConfigError(
            f"ORCHESTRA_STATE_DIR is {str(settings.runtime.state_dir)!r}, relative to this "
            "run's clone, which is deleted after the run: set it to an absolute path in the "
            "worker's environment (the sandbox's worker env file does)",
            source="ORCHESTRA_STATE_DIR",
        )
    with _PROCESS_LOCK:
        clients = _PROCESS_CLIENTS.get(settings)
        if clients is None:
            clients = _PROCESS_CLIENTS[settings] = Clients(settings)
        return clients


def _deployment_run() -> bool:
    """Whether this process runs a flow run of a deployment (a worker's clone)."""
    from prefect.runtime import deployment

    return deployment.id is not None
