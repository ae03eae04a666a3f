"""The code a deployment's runs execute: a repository URL and a commit, fixed at deploy time.

Every flow run clones that commit into a fresh directory of its own (the ``git_clone``
pull step of ``prefect.yaml``), so a worker needs no checkout at any particular path.
:func:`deployed_source` reads the commit and the repository from the deploying checkout
and refuses what would make a run execute something else than what was deployed:
uncommitted changes, a commit the repository does not have, credentials in the URL
(they would be stored in the Prefect database). Failures are ConfigError, one line each.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from orchestra_ops.errors import ConfigError

_TIMEOUT_S = 300
#: What git needs to reach a repository the way the person deploying does (ssh agent,
#: credential helpers in HOME, proxies), and nothing of the settings' credentials.
_GIT_ENVIRONMENT = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "TMPDIR",
    "SSH_AUTH_SOCK",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)


@dataclass(frozen=True)
class Source:
    """The repository every run clones, and the commit it checks out."""

    repository: str
    commit: str

    def as_environment(self) -> dict[str, str]:
        """The variables the pull step of ``prefect.yaml`` is filled from at deploy time."""
        return {"ORCHESTRA_GIT_REPOSITORY": self.repository, "ORCHESTRA_GIT_COMMIT": self.commit}


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k in _GIT_ENVIRONMENT}
    environment["GIT_TERMINAL_PROMPT"] = "0"  # a missing credential fails, never waits
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as error:
        raise ConfigError("git is not installed: deploying needs it") from error
    except subprocess.TimeoutExpired as error:
        raise ConfigError(f"`git {args[0]}` did not finish in {_TIMEOUT_S} s") from error


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


def check_url(repository: str) -> None:
    """ConfigError for a URL a worker elsewhere could not use as given (a relative path),
    or one that carries a password or token (``https://user:token@host``)."""
    scp_like = ":" in repository.split("/", 1)[0]  # git@host:org/repo.git
    if "://" not in repository and not scp_like and not Path(repository).is_absolute():
        raise ConfigError(
            f"the repository {repository!r} is a relative path: give a URL or an absolute "
            "path every worker can clone",
            source="ORCHESTRA_GIT_REPOSITORY",
        )
    if "://" in repository and urlsplit(repository).password is not None:
        raise ConfigError(
            "the repository URL carries a credential, which the deployment would store in "
            "the Prefect database: set ORCHESTRA_GIT_REPOSITORY to the URL without it and "
            "give workers their own git credentials (ssh key, credential helper)",
            source="ORCHESTRA_GIT_REPOSITORY",
        )


def deployed_source(checkout: Path, repository: str | None = None) -> Source:
    """The checkout's HEAD and its repository (``origin`` unless ``repository`` is given),
    after checking that a worker can fetch exactly that commit from it."""
    head = _git("rev-parse", "--verify", "HEAD^{commit}", cwd=checkout)
    if head.returncode != 0:
        raise ConfigError(f"{checkout} is not a git checkout with a commit: {_last_line(head)}")
    commit = head.stdout.strip()
    changed = _git("status", "--porcelain", "--untracked-files=no", cwd=checkout)
    if changed.returncode != 0 or changed.stdout.strip():
        files = ", ".join(line[3:] for line in changed.stdout.splitlines()[:5])
        raise ConfigError(
            f"{checkout} has uncommitted changes ({files or _last_line(changed)}): runs "
            f"would execute commit {commit[:12]} without them; commit and push first"
        )
    if repository is None:
        origin = _git("remote", "get-url", "origin", cwd=checkout)
        if origin.returncode != 0:
            raise ConfigError(
                f"{checkout} has no `origin` remote: set ORCHESTRA_GIT_REPOSITORY to a URL "
                "every worker can clone",
                source="ORCHESTRA_GIT_REPOSITORY",
            )
        repository = origin.stdout.strip()
    check_url(repository)
    check_fetchable(Source(repository, commit))
    return Source(repository, commit)


def check_fetchable(source: Source) -> None:
    """Fetch the repository as a worker's pull step does; ConfigError without the commit."""
    with tempfile.TemporaryDirectory(prefix="orchestra-ops-source-") as scratch:
        clone = Path(scratch) / "clone"
        cloned = _git(
            "clone", "--quiet", "--bare", "--filter=blob:none", source.repository, str(clone)
        )
        if cloned.returncode != 0:
            raise ConfigError(
                f"cannot clone {source.repository}: {_last_line(cloned)}",
                source="ORCHESTRA_GIT_REPOSITORY",
            )
        found = _git("cat-file", "-e", f"{source.commit}^{{commit}}", cwd=clone)
        if found.returncode != 0:
            raise ConfigError(
                f"{source.repository} does not have commit {source.commit[:12]}: push it "
                "first, so that workers can check it out",
                source="ORCHESTRA_GIT_REPOSITORY",
            )
