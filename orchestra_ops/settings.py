"""Settings: one pydantic-settings model per provider, read only when asked for.

Environment names are those of the roadmap plan (``VERCEL_TOKEN``, ``LAMBDA_LABS_API_KEY``,
``PULUMI_ACCESS_TOKEN``, ...); base URLs default to the real services. Every credential
is a ``SecretStr``. Nothing here runs at import time: call :func:`load_settings`.
A validation error becomes a :class:`~orchestra_ops.errors.ConfigError` naming the
variable, and never echoes the value it was given.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from dotenv.parser import parse_stream
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestra_ops.errors import ConfigError

_WHITESPACE = re.compile(r"\s")


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0  # .port raises on one out of range
    except ValueError:
        parts, port_ok = urlsplit(""), False
    if (
        parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or _WHITESPACE.search(value)
    ):
        raise ValueError("must be an http:// or https:// URL (a host, a valid port, no spaces)")
    return value.rstrip("/")


def _clean_secret(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    raw = value.get_secret_value()
    if raw == "":
        return None
    if _WHITESPACE.search(raw):
        # A pasted token with a newline breaks HTTP headers in confusing ways.
        raise ValueError("contains whitespace (a pasted newline?)")
    return value


def _fernet_key(value: SecretStr | None) -> SecretStr | None:
    """A Fernet key is 32 bytes in url-safe base64; the value is never shown."""
    if value is None:
        return None
    from cryptography.fernet import Fernet  # only when a key is set: it costs start-up

    try:
        Fernet(value.get_secret_value())  # the very check the backup store makes
    except (ValueError, UnicodeEncodeError):
        raise ValueError("is not a Fernet key (32 bytes in url-safe base64)") from None
    return value


#: The state backends the Pulumi CLI knows by URL scheme.
_BACKEND_SCHEMES = ("file://", "s3://", "azblob://", "gs://", "postgres://", "https://", "http://")


def _backend_url(value: str | None) -> str | None:
    if not value:
        return None  # set empty: unset, as for the credentials
    if not value.lower().startswith(_BACKEND_SCHEMES):
        raise ValueError(f"must start with one of {', '.join(_BACKEND_SCHEMES)}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Credential = Annotated[SecretStr | None, AfterValidator(_clean_secret)]


class _ProviderSettings(BaseSettings):
    """Shared configuration: `.env` support, unknown variables ignored."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets ``field``."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


class VercelSettings(_ProviderSettings):
    """Vercel: ``VERCEL_TOKEN``, ``VERCEL_ORG_ID``, the project ids, ``VERCEL_API_URL``…"""

    model_config = SettingsConfigDict(env_prefix="VERCEL_")

    token: Credential = None
    org_id: str | None = Field(default=None, description="team_… (teams) or the user id")
    admin_project_id: str | None = None
    dashboard_project_id: str | None = None
    api_url: HttpUrl = "https://api.vercel.com"
    edge_url: HttpUrl | None = Field(
        default=None,
        description="sandbox only: reach deployment hostnames through this edge (Host header)",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="seconds one API request may take"
    )

    @property
    def team_id(self) -> str | None:
        """The ``teamId`` query value: only a team's org id is sent, never a user id."""
        if self.org_id and self.org_id.startswith("team_"):
            return self.org_id
        return None


class LambdaCloudSettings(_ProviderSettings):
    """Lambda Cloud: ``LAMBDA_LABS_API_KEY``, ``LAMBDA_LABS_SSH_KEY_NAME``, ``LAMBDA_LABS_API_URL``.

    ``api_url`` is the host root; the adapter adds ``/api/v1``.
    """

    model_config = SettingsConfigDict(env_prefix="LAMBDA_LABS_")

    api_key: Credential = None
    ssh_key_name: str | None = Field(default=None, min_length=1, max_length=64)
    api_url: HttpUrl = "https://cloud.lambda.ai"
    health_url_template: str = Field(
        default="http://{ip}:{port}/health",
        description="an instance's health URL; {ip}, {port}, {instance_id} are filled in",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="seconds one API request may take"
    )


class PulumiSettings(_ProviderSettings):
    """Pulumi: ``PULUMI_ACCESS_TOKEN``, ``PULUMI_BACKEND_URL``, ``PULUMI_CONFIG_PASSPHRASE``."""

    model_config = SettingsConfigDict(env_prefix="PULUMI_")

    access_token: Credential = None
    backend_url: Annotated[str | None, AfterValidator(_backend_url)] = Field(
        default=None, description="file://, s3://... or the Pulumi Cloud URL; unset = Cloud"
    )
    config_passphrase: Credential = None
    org: str | None = Field(default=None, description="organisation for StackReferences")


class ScanSettings(_ProviderSettings):
    """Advisory feeds of the scanners: ``ORCHESTRA_OSV_API_URL``, ``ORCHESTRA_NPM_REGISTRY_URL``…"""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRA_")

    osv_api_url: HttpUrl = "https://api.osv.dev"
    npm_registry_url: HttpUrl = "https://registry.npmjs.org"
    safety_db_dir: Path | None = Field(
        default=None, description="a safety database directory; unset = safety's own source"
    )
    safety_auth_server_url: HttpUrl | None = None


def _default_key_file() -> Path:
    return Path.home() / ".config" / "orchestra-ops" / "state.key"


def _blank_is_unset(value: Any) -> Any:
    """``NAME=`` (empty or blank) means the same as leaving NAME out."""
    return None if isinstance(value, str) and not value.strip() else value


def cache_home(environ: Mapping[str, str] = os.environ) -> Path:
    """Orchestra Ops' cache folder: ``$XDG_CACHE_HOME/orchestra-ops``, else under
    ``~/.cache`` (the Pulumi CLI of ``make pulumi``, kept preflight builds)."""
    home = environ.get("HOME") or str(Path.home())
    return Path(environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")) / "orchestra-ops"


def _default_build_cache() -> Path:
    return cache_home() / "builds"


class RuntimeSettings(_ProviderSettings):
    """Where Orchestra Ops keeps its own state: ``ORCHESTRA_STATE_DIR``, and its key.

    Rollback backups (env snapshots) are encrypted with ``ORCHESTRA_STATE_KEY`` when set,
    else with the key in ``ORCHESTRA_STATE_KEY_FILE`` (made on first use, mode 0600).
    Workers that share a state directory need the same key.
    """

    model_config = SettingsConfigDict(env_prefix="ORCHESTRA_")

    state_dir: Path = Path(".orchestra-ops")
    state_key: Annotated[Credential, AfterValidator(_fernet_key)] = Field(
        default=None, description="a Fernet key (secret)"
    )
    state_key_file: Path = Field(
        default_factory=_default_key_file, description="holds the key when STATE_KEY is unset"
    )
    build_cache_dir: Annotated[Path | None, BeforeValidator(_blank_is_unset)] = Field(
        default_factory=_default_build_cache,
        description="preflight builds kept by their inputs (lockfile-pinned builds only); "
        "empty: every preflight builds",
    )
    stack_engine: str = Field(
        default="pulumi",
        description="`pulumi` (the Automation API), or `package.module:factory` called with "
        "(settings, state_dir) for another StackEngine",
    )


def _secret_http_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        _http_url(value.get_secret_value())  # its error message never quotes the value
    return value


class NotificationSettings(_ProviderSettings):
    """Where notices go: ``ORCHESTRA_NOTIFY_WEBHOOK_URL`` (a secret), unset = no notices."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRA_NOTIFY_")

    webhook_url: Annotated[Credential, AfterValidator(_secret_http_url)] = Field(
        default=None, description="a Slack-compatible incoming webhook; the URL is the secret"
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60, description="per attempt")


_GITHUB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}|team:[A-Za-z0-9][A-Za-z0-9_.-]*")


def _github_names(value: Any) -> Any:
    """``a, b`` (or a JSON list) -> ("a", "b"); each a GitHub login or ``team:<slug>``."""
    if isinstance(value, str):
        value = [] if not value.strip() else [v.strip() for v in value.split(",")]
    for position, name in enumerate(value, start=1):
        if not isinstance(name, str) or not _GITHUB_NAME.fullmatch(name):
            raise ValueError(f"name {position} is not a GitHub login or team:<slug>")
    return tuple(value)


GitHubNames = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_github_names)]


BlankIsUnset = Annotated[str | None, BeforeValidator(_blank_is_unset)]


class GeneratedFilesSettings(_ProviderSettings):
    """What generated repository files say: ``ORCHESTRA_UPDATE_BOT``, its reviewers and
    assignees, and the pinned Orchestra Ops source of the security workflow's SARIF job."""

    model_config = SettingsConfigDict(env_prefix="ORCHESTRA_")

    update_bot: Annotated[
        Literal["auto", "dependabot", "renovate"],
        BeforeValidator(lambda v: _blank_is_unset(v) or "auto"),
    ] = Field(
        default="auto",
        description="the one dependency-update bot; auto = the one the repo already uses, "
        "else dependabot",
    )
    update_reviewers: GitHubNames = Field(default=(), description="comma-separated")
    update_assignees: GitHubNames = Field(default=(), description="comma-separated")
    update_automerge: bool = Field(
        default=True,
        description="Renovate merges type-definition and devDependency updates by itself, "
        "each 3 days after its release (the plan's rules); false: every update waits for "
        "a person",
    )
    # Checked where used (the security workflow's plan, doctor), never here: a bad value
    # must not stop every flow, and its error must not quote a URL that may hold a token.
    workflow_product_git_url: BlankIsUnset = Field(
        default=None,
        repr=False,  # a pasted URL may hold a token: never in a repr
        description="public https git URL the SARIF job fetches Orchestra Ops from",
    )
    workflow_product_commit: BlankIsUnset = Field(
        default=None, description="the full commit SHA to fetch"
    )


_MODELS: dict[str, type[_ProviderSettings]] = {
    "vercel": VercelSettings,
    "lambda_cloud": LambdaCloudSettings,
    "pulumi": PulumiSettings,
    "scan": ScanSettings,
    "runtime": RuntimeSettings,
    "notify": NotificationSettings,
}


@dataclass(frozen=True)
class Settings:
    """All settings, one model per provider."""

    vercel: VercelSettings
    lambda_cloud: LambdaCloudSettings
    pulumi: PulumiSettings
    scan: ScanSettings
    runtime: RuntimeSettings
    notify: NotificationSettings
    env_file: Path | None = None

    @property
    def generated(self) -> GeneratedFilesSettings:
        """What generated repository files say, read when used: a bad value there fails
        the step that generates them, never every flow. ConfigError names the variable."""
        try:
            return GeneratedFilesSettings(_env_file=self.env_file)
        except ValidationError as error:
            problems = _describe(GeneratedFilesSettings, error)
            message = "invalid settings: " + "; ".join(problems)
            # from None: pydantic's error text quotes the input, which may be a secret
            raise ConfigError(message, source=problems[0]) from None


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read every provider's settings from the environment and ``env_file``.

    The environment wins over the file. Raises ConfigError naming each bad variable, or
    the file and its lines that are no ``NAME=value`` (python-dotenv would drop them).
    Tasks ask for the settings at each step: while the environment, the working directory
    and the file are unchanged, the (frozen) settings read last time are given back.
    """
    before = _SettingsInputs.now(env_file)
    if before is not None:
        with _CACHE_LOCK:
            cached = _CACHE.get(before)
            if cached is not None:
                _CACHE.move_to_end(before)
                return cached
    settings = _read_settings(env_file)
    # Kept only when nothing changed while it was read: else it would answer for inputs
    # it was not read from. Inputs that cannot be told apart (no cwd, a stat error) never are.
    if before is not None and _SettingsInputs.now(env_file) == before:
        with _CACHE_LOCK:
            _CACHE[before] = settings
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return settings


@dataclass(frozen=True)
class _SettingsInputs:
    """Everything settings are read from: a change to any of it reads them again."""

    env_file: Path | None
    cwd: str
    file_stamp: tuple[int, ...] | None  # None: no such file
    environ: tuple[tuple[str, str], ...] = dataclasses.field(repr=False)  # secrets: never shown

    @classmethod
    def now(cls, env_file: Path | None) -> _SettingsInputs | None:
        """The inputs as they are, or None when they cannot be told apart from others
        (the working directory is gone, the file cannot be looked at)."""
        try:
            cwd = os.getcwd()
        except OSError:
            return None
        stamp = None
        if env_file is not None:
            try:
                stat = env_file.stat()
            except FileNotFoundError:
                pass  # no file to read, as check_env_file has it
            except OSError:
                return None  # unreadable, a loop...: read again, check_env_file says why
            else:
                if time.time_ns() - stat.st_mtime_ns < _RACY_S * 1_000_000_000:
                    # Written just now: a rewrite within the same timestamp tick (coarse
                    # on many file systems) would keep this stamp. Read it, do not keep it.
                    return None
                stamp = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        try:
            environ = tuple(sorted(os.environ.items()))
        except (KeyError, RuntimeError):  # another thread changed it while it was copied
            return None
        return cls(env_file, cwd, stamp, environ)


_CACHE_SIZE = 4
_CACHE: OrderedDict[_SettingsInputs, Settings] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_RACY_S = 2  # a file changed this recently is not cached (1 s timestamps on some)


def _after_fork() -> None:
    global _CACHE_LOCK
    _CACHE_LOCK = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_after_fork)


def _read_settings(env_file: Path | None) -> Settings:
    if env_file is not None:
        check_env_file(env_file)
    loaded: dict[str, Any] = {}
    problems: list[str] = []
    for attr, model in _MODELS.items():
        try:
            loaded[attr] = model(_env_file=env_file)
        except ValidationError as error:
            problems.extend(_describe(model, error))
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems), source=problems[0])
    return Settings(**loaded, env_file=env_file)


def check_env_file(env_file: Path) -> None:
    """Refuse an env file that cannot be read or has lines that are no binding; the
    message names the lines, never their text (a line may hold a secret)."""
    bad, reason = _unparsed_lines(env_file)
    if reason is not None:  # raised out here: no frame of this error holds the file's text
        raise ConfigError(f"{env_file}: cannot be read ({reason})", source=str(env_file))
    if bad:
        raise ConfigError(
            f"{env_file}: line{'s' if len(bad) > 1 else ''} {', '.join(bad)} "
            "cannot be parsed as NAME=value lines (an unclosed quote? text before the name?)",
            source=str(env_file),
        )


def _unparsed_lines(env_file: Path) -> tuple[list[str], str | None]:
    """The numbers of the lines that are no binding, or why the file cannot be read."""
    try:
        data = env_file.read_bytes()
    except FileNotFoundError:
        return [], None
    except OSError as error:
        return [], error.strerror or "not readable"
    try:
        stream = io.StringIO(data.decode("utf-8"))
    except UnicodeDecodeError:
        return [], "not UTF-8 text"
    return [str(b.original.line) for b in parse_stream(stream) if b.error], None


def _describe(model: type[_ProviderSettings], error: ValidationError) -> list[str]:
    """Name each bad variable and why, without the value (it may be a secret)."""
    described = []
    for item in error.errors(include_input=False, include_url=False):
        field = str(item["loc"][0]) if item["loc"] else "?"
        reason = item["msg"].removeprefix("Value error, ")
        described.append(f"{model.env_name(field)} {reason}")
    return described


T = TypeVar("T")


def require(value: T | None, env_name: str, needed_for: str) -> T:
    """Return ``value`` or raise a ConfigError saying which variable to set and why."""
    if value is None:
        raise ConfigError(
            f"{env_name} is not set: it is needed {needed_for}. Set it in the environment "
            "or in .env, or run against the sandbox (`orchestra-ops sandbox`).",
            source=env_name,
        )
    return value
