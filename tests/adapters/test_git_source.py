"""What `make deploy` pins the runs to: checked against real git repositories on disk."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestra_ops.adapters.git_source import Source, deployed_source
from orchestra_ops.errors import ConfigError

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@localhost"]


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A clone of a bare 'origin' with one pushed commit."""
    work = tmp_path / "first"
    work.mkdir()
    (work / "flow.py").write_text("print('v1')\n")
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "v1")
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"))
    _git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "checkout"))
    return tmp_path / "checkout"


def test_a_clean_pushed_checkout_deploys_its_head_from_origin(checkout: Path) -> None:
    """The commit is HEAD, the repository is origin; both reach the pull step's variables."""
    source = deployed_source(checkout)
    assert source == Source(
        str(checkout.parent / "origin.git"), _git(checkout, "rev-parse", "HEAD")
    )
    assert source.as_environment() == {
        "ORCHESTRA_GIT_REPOSITORY": source.repository,
        "ORCHESTRA_GIT_COMMIT": source.commit,
    }


def test_uncommitted_changes_are_refused_naming_the_file(checkout: Path) -> None:
    """Runs would execute the commit without them."""
    (checkout / "flow.py").write_text("print('v2, not committed')\n")
    with pytest.raises(ConfigError, match=r"uncommitted changes \(flow\.py\).*commit and push"):
        deployed_source(checkout)


def test_a_commit_origin_does_not_have_is_refused(checkout: Path) -> None:
    """Committed but not pushed: a worker could not check it out."""
    (checkout / "flow.py").write_text("print('v2')\n")
    _git(checkout, "commit", "-q", "-am", "v2")
    with pytest.raises(ConfigError, match=r"does not have commit .*push it first"):
        deployed_source(checkout)
    _git(checkout, "push", "-q", "origin", "main")
    assert deployed_source(checkout).commit == _git(checkout, "rev-parse", "HEAD")


def test_another_repository_is_checked_for_the_commit_too(checkout: Path, tmp_path: Path) -> None:
    """ORCHESTRA_GIT_REPOSITORY names a mirror: it must hold the commit; a wrong URL is
    named in one line."""
    _git(tmp_path, "init", "-q", "--bare", str(tmp_path / "empty.git"))
    with pytest.raises(ConfigError, match=r"empty\.git does not have commit"):
        deployed_source(checkout, str(tmp_path / "empty.git"))
    with pytest.raises(ConfigError, match=r"cannot clone .*nowhere\.git") as caught:
        deployed_source(checkout, str(tmp_path / "nowhere.git"))
    assert "\n" not in str(caught.value)


def test_a_checkout_without_origin_asks_for_the_repository(tmp_path: Path) -> None:
    """No remote: say which variable names one."""
    (tmp_path / "a.txt").write_text("a\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "a")
    with pytest.raises(ConfigError, match="no `origin` remote: set ORCHESTRA_GIT_REPOSITORY"):
        deployed_source(tmp_path)


def test_a_relative_repository_path_is_refused(checkout: Path) -> None:
    """A worker elsewhere would resolve it against its own directory."""
    with pytest.raises(ConfigError, match=r"'\.\./origin\.git' is a relative path"):
        deployed_source(checkout, "../origin.git")


def test_a_url_with_a_credential_is_refused_without_echoing_it(checkout: Path) -> None:
    """It would be stored in the Prefect database with the deployment."""
    token = "ghp_canary77aa"  # a canary, not a credential
    with pytest.raises(ConfigError) as caught:
        deployed_source(checkout, f"https://bot:{token}@git.example.com/org/repo.git")
    assert "carries a credential" in str(caught.value)
    assert token not in str(caught.value)


def test_the_deploy_command_refuses_in_one_line_before_running_anything(
    checkout: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m deployments.source CMD`: exit 2 and one line; CMD never runs."""
    from deployments.source import main

    (checkout / "flow.py").write_text("print('v2, not committed')\n")
    ran = checkout.parent / "ran"
    monkeypatch.chdir(checkout)
    assert main(["touch", str(ran)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"cannot deploy: {checkout} has uncommitted changes (flow.py)")
    assert not ran.exists()
