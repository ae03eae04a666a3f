"""Git through its command line, and reading a target repository; failures become ReorgError.

Every call runs ``git -C <repo>`` with a bounded timeout; the message of a failure
names the command and git's stderr so a person can repeat it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from orchestra_ops.adapters.child_env import child_env
from orchestra_ops.errors import ReorgError, ToolMissing

_TIMEOUT_S = 60


class Git:
    """One repository's git: status, branches, moves and commits."""

    def __init__(
        self,
        repo: Path,
        *,
        author_name: str = "Orchestra Ops",
        author_email: str = "orchestra-ops@localhost",
        timeout_s: float = _TIMEOUT_S,
    ) -> None:
        self.repo = repo
        self._identity = ("-c", f"user.name={author_name}", "-c", f"user.email={author_email}")
        self._timeout_s = timeout_s

    def run(self, *args: str, identity: bool = False) -> str:
        """Run ``git args`` in the repo and return its stdout; ReorgError if it fails."""
        command = ["git", "-C", str(self.repo), *(self._identity if identity else ()), *args]
        shown = "git " + " ".join(args)
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=False,
                env=child_env(("GIT_", "XDG_CONFIG_HOME")),
            )
        except FileNotFoundError as error:
            raise ToolMissing(
                "git", disables="the Pulumi reorganisation", install_hint="Install git."
            ) from error
        except subprocess.TimeoutExpired as error:
            raise ReorgError(f"`{shown}` did not finish in {self._timeout_s:.0f} s") from error
        if done.returncode != 0:
            stderr = done.stderr.strip() or done.stdout.strip()
            raise ReorgError(f"`{shown}` failed ({done.returncode}): {stderr}")
        return done.stdout

    def init(self, message: str) -> None:
        """Make the directory a repository on ``main`` holding everything in it."""
        self.run("init", "-q", "-b", "main")
        self.commit_all(message)

    def is_clean(self) -> bool:
        """True when nothing is staged, modified or untracked (ignored files do not count)."""
        return not self.changed_files()

    def changed_files(self) -> list[str]:
        """The staged, modified and untracked paths (ignored files do not count)."""
        status = self.run("status", "--porcelain", "--untracked-files=all")
        return [line[3:] for line in status.splitlines()]

    def current_branch(self) -> str:
        """The checked-out branch name; ReorgError on a detached HEAD."""
        name = self.run("rev-parse", "--abbrev-ref", "HEAD").strip()
        if name == "HEAD":
            raise ReorgError("HEAD is detached; check out a branch before reorganising")
        return name

    def head(self) -> tuple[str, str]:
        """The checked-out branch and its commit id, in one call; ReorgError if detached."""
        commit, name = self.run("rev-parse", "HEAD", "--abbrev-ref", "HEAD").split()
        if name == "HEAD":
            raise ReorgError("HEAD is detached; check out a branch before reorganising")
        return name, commit

    def rev_parse(self, ref: str = "HEAD") -> str:
        """The commit id ``ref`` names."""
        return self.run("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def branch_exists(self, name: str) -> bool:
        """True when a local branch called ``name`` exists."""
        listed = self.run("branch", "--list", "--format=%(refname:short)", name)
        return name in listed.split()

    def create_branch(self, name: str) -> None:
        """Create ``name`` at HEAD and check it out (the working tree is kept)."""
        self.run("checkout", "-q", "-b", name)

    def checkout(self, name: str, *, discard_changes: bool = False) -> None:
        """Check out an existing branch (or commit); ``discard_changes`` throws away what the
        working tree and the index hold that ``name`` does not."""
        self.run("checkout", "-q", *(["-f"] if discard_changes else []), name)

    def delete_branch(self, name: str) -> None:
        """Delete a local branch, merged or not."""
        self.run("branch", "-q", "-D", name)

    def mv(self, src: str, dst: str) -> None:
        """``git mv`` one file (history follows it); the destination directory must exist."""
        self.run("mv", "--", src, dst)

    def reset_index(self, ref: str) -> None:
        """Point the current branch and the index at ``ref``, leaving the working tree alone."""
        self.run("reset", "-q", "--mixed", ref)

    def commit_all(self, message: str) -> None:
        """Stage every change (renames included) and commit with the configured identity."""
        self.run("add", "-A")
        self.run("commit", "-q", "--no-verify", "-m", message, identity=True)

    def tracked_files(self) -> list[str]:
        """Every tracked path, sorted, as posix paths relative to the repo."""
        return sorted(self.run("ls-files", "-z").split("\0")[:-1])


def read_snapshot(repo: Path, git: Git | None = None) -> dict[str, str]:
    """Every tracked file as text; a symlink or a submodule as ``""`` (moved, never read).

    A link is never followed, wherever it leads: :func:`read_links` says where, and the
    plan refuses to move a project holding one that leads outside the repo.
    """
    files = (git or Git(repo)).tracked_files()
    snapshot = {}
    for relative in files:
        path = repo / relative
        if path.is_symlink() or not path.is_file():
            snapshot[relative] = ""
            continue
        inside(repo, relative)
        snapshot[relative] = path.read_bytes().decode("utf-8", errors="surrogateescape")
    return snapshot


def read_links(repo: Path, git: Git | None = None) -> dict[str, str | None]:
    """Each tracked symlink and the repo-relative path it resolves to (None: outside the repo)."""
    root = repo.resolve()
    links: dict[str, str | None] = {}
    for relative in (git or Git(repo)).tracked_files():
        path = repo / relative
        if path.is_symlink():
            resolved = path.resolve()
            inside_repo = resolved.is_relative_to(root)
            links[relative] = resolved.relative_to(root).as_posix() if inside_repo else None
    return links


def inside(repo: Path, relative: str) -> Path:
    """``repo/relative`` after resolving links; ReorgError when that is outside the repo."""
    if relative.startswith("/") or ".." in relative.split("/"):
        raise ReorgError(f"{relative!r} is outside the repo; refusing to touch it")
    resolved = (repo / relative).resolve()
    if not resolved.is_relative_to(repo.resolve()):
        raise ReorgError(f"{relative!r} leads outside the repo (to {resolved}); refusing")
    return resolved
