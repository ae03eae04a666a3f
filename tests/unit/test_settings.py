"""Settings: the plan's environment names, .env support, masking, and clear errors."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

import pytest

from orchestra_ops import settings as settings_module
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import (
    LambdaCloudSettings,
    VercelSettings,
    load_settings,
    require,
)

CANARY = "canary-4f1e9b-DO-NOT-LEAK"


def test_reads_the_roadmap_plan_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable of the plan's 'Environment Secrets' lands in its provider model."""
    values = {
        "VERCEL_TOKEN": "v-token",
        "VERCEL_ORG_ID": "team_abc",
        "VERCEL_ADMIN_PROJECT_ID": "prj_admin",
        "VERCEL_DASHBOARD_PROJECT_ID": "prj_dash",
        "LAMBDA_LABS_API_KEY": "secret_key",
        "LAMBDA_LABS_SSH_KEY_NAME": "orchestra-deploy",
        "PULUMI_ACCESS_TOKEN": "pul-abc",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env_file=None)
    assert settings.vercel.token is not None
    assert settings.vercel.token.get_secret_value() == "v-token"
    assert settings.vercel.team_id == "team_abc"
    assert settings.vercel.admin_project_id == "prj_admin"
    assert settings.vercel.dashboard_project_id == "prj_dash"
    assert settings.lambda_cloud.api_key is not None
    assert settings.lambda_cloud.api_key.get_secret_value() == "secret_key"
    assert settings.lambda_cloud.ssh_key_name == "orchestra-deploy"
    assert settings.pulumi.access_token is not None
    assert settings.pulumi.access_token.get_secret_value() == "pul-abc"


def test_base_urls_default_to_the_real_services() -> None:
    """With nothing set, the adapters would talk to the real vendors."""
    settings = load_settings(env_file=None)
    assert settings.vercel.api_url == "https://api.vercel.com"
    assert settings.lambda_cloud.api_url == "https://cloud.lambda.ai"
    assert settings.scan.osv_api_url == "https://api.osv.dev"
    assert settings.scan.npm_registry_url == "https://registry.npmjs.org"
    assert settings.vercel.token is None


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .env file supplies values; the process environment overrides it."""
    env_file = tmp_path / ".env"
    env_file.write_text("VERCEL_TOKEN=from-file\nLAMBDA_LABS_SSH_KEY_NAME=file-key\nUNRELATED=1\n")
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "env-key")
    settings = load_settings(env_file=env_file)
    assert settings.vercel.token is not None
    assert settings.vercel.token.get_secret_value() == "from-file"
    assert settings.lambda_cloud.ssh_key_name == "env-key"


def test_settings_are_read_again_when_the_environment_or_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked again with nothing changed, the same settings come back; a changed variable, a
    rewritten or broken file, or another working directory is read again."""
    env_file = tmp_path / ".env"
    env_file.write_text("VERCEL_TOKEN=first\n")
    assert load_settings(env_file) is not load_settings(env_file)  # just written: not kept
    _age(env_file)
    first = load_settings(env_file)
    assert load_settings(env_file) is first
    env_file.write_text("VERCEL_TOKEN=second\n")
    second = load_settings(env_file)
    assert second.vercel.token is not None and second.vercel.token.get_secret_value() == "second"
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "changed")
    assert load_settings(env_file).lambda_cloud.ssh_key_name == "changed"
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("VERCEL_TOKEN=third\n")  # the same file, by its relative name
    third = load_settings()
    assert third.vercel.token is not None and third.vercel.token.get_secret_value() == "third"
    env_file.write_text("no binding\n")
    with pytest.raises(ConfigError, match="line 1 cannot be parsed"):
        load_settings()


def _age(path: Path) -> None:
    """Date the file's last change 10 s back, as a file not written just now."""
    then = time.time() - 10
    os.utime(path, (then, then))


def _write_secret_file(path: Path, kind: str) -> None:
    binding = f"VERCEL_TOKEN={CANARY}\n".encode()
    path.write_bytes(binding + (b"not a binding\n" if kind == "bad line" else b"\xff\n"))


def test_a_bad_env_file_error_keeps_no_text_of_the_file(tmp_path: Path) -> None:
    """A traceback with locals shows no secret of a file refused for a bad line or bytes."""
    env_file = tmp_path / ".env"
    for kind in ("bad line", "bad bytes"):
        _write_secret_file(env_file, kind)  # no local of this frame holds the secret
        with pytest.raises(ConfigError) as raised:
            load_settings(env_file)
        shown = "".join(
            traceback.TracebackException.from_exception(raised.value, capture_locals=True).format()
        )
        assert CANARY not in shown


def test_settings_are_read_in_a_working_directory_that_was_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "still-read")
    assert load_settings().lambda_cloud.ssh_key_name == "still-read"


def test_what_settings_are_kept_by_never_shows_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment is part of the cache key; a traceback with locals shows the key."""
    monkeypatch.setenv("VERCEL_TOKEN", CANARY)
    inputs = settings_module._SettingsInputs.now(None)
    assert inputs is not None and CANARY not in repr(inputs)


def test_an_env_file_that_cannot_be_looked_at_is_not_taken_for_a_missing_one(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / ".env"
    assert load_settings(env_file).vercel.token is None  # no file: kept as such
    env_file.symlink_to(env_file)  # a loop: stat fails, and not with "no such file"
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(env_file)


def test_a_change_while_settings_are_read_is_not_kept_for_what_came_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings read while the environment changed answer for neither environment."""
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "before")
    real_check = settings_module.check_env_file

    def change_during_the_read(env_file: Path) -> None:
        monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "during")
        real_check(env_file)

    monkeypatch.setattr(settings_module, "check_env_file", change_during_the_read)
    assert load_settings().lambda_cloud.ssh_key_name == "during"
    monkeypatch.setattr(settings_module, "check_env_file", real_check)
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "before")
    assert load_settings().lambda_cloud.ssh_key_name == "before"


def test_env_file_lines_that_are_no_binding_are_named_never_shown(tmp_path: Path) -> None:
    """python-dotenv drops such lines with a warning; a dropped API key would read as unset."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "VERCEL_TOKEN=tok_CANARY_1\nthis is no binding\n=novalue\n"
        'LAMBDA_LABS_API_KEY="tok_CANARY_2\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file)
    assert str(caught.value).startswith(f"{env_file}: lines 2, 3, 4 cannot be parsed")
    assert "CANARY" not in str(caught.value)


def test_an_env_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    (tmp_path / "dir.env").mkdir()
    (tmp_path / "binary.env").write_bytes(b"VERCEL_TOKEN=\xff\xfe\n")
    for name in ("dir.env", "binary.env"):
        with pytest.raises(ConfigError, match=f"{name}: cannot be read"):
            load_settings(tmp_path / name)


def test_user_org_id_is_not_sent_as_team_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A personal account's org id is a user id: it must not become ?teamId=."""
    monkeypatch.setenv("VERCEL_ORG_ID", "Xyz123userid")
    assert load_settings(env_file=None).vercel.team_id is None


def test_secrets_are_masked_in_repr_and_str(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credential value appears when a settings object is printed or logged."""
    monkeypatch.setenv("VERCEL_TOKEN", CANARY)
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", CANARY)
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", CANARY)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", CANARY)
    settings = load_settings(env_file=None)
    for text in (repr(settings), str(settings), settings.vercel.model_dump_json()):
        assert CANARY not in text


def test_invalid_value_names_the_variable_and_hides_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad credential fails with its variable name, never its value."""
    monkeypatch.setenv("LAMBDA_LABS_API_KEY", f"{CANARY}\nsecond-line")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert "LAMBDA_LABS_API_KEY" in message
    assert "whitespace" in message
    assert CANARY not in message
    assert CANARY not in repr(caught.value)
    assert caught.value.__cause__ is None or CANARY not in str(caught.value.__cause__)


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several mistakes are reported together, each by its variable name."""
    monkeypatch.setenv("VERCEL_API_URL", "api.vercel.com")
    monkeypatch.setenv("LAMBDA_LABS_SSH_KEY_NAME", "k" * 65)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert "VERCEL_API_URL must be an http:// or https:// URL" in str(caught.value)
    assert "LAMBDA_LABS_SSH_KEY_NAME" in str(caught.value)
    assert caught.value.source is not None
    assert caught.value.source.startswith("VERCEL_API_URL")


def test_empty_credential_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """`VERCEL_TOKEN=` in a .env template means not set, not an empty bearer token."""
    monkeypatch.setenv("VERCEL_TOKEN", "")
    assert load_settings(env_file=None).vercel.token is None


def test_trailing_slash_is_dropped_from_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adapters join paths onto base URLs; a trailing slash would double up."""
    monkeypatch.setenv("LAMBDA_LABS_API_URL", "http://127.0.0.1:9000/")
    assert load_settings(env_file=None).lambda_cloud.api_url == "http://127.0.0.1:9000"


def test_require_names_the_missing_variable() -> None:
    """A missing credential says which variable to set and what it is needed for."""
    with pytest.raises(ConfigError) as caught:
        require(None, "LAMBDA_LABS_API_KEY", "to launch instances")
    assert "LAMBDA_LABS_API_KEY is not set" in str(caught.value)
    assert "to launch instances" in str(caught.value)
    assert caught.value.source == "LAMBDA_LABS_API_KEY"
    assert require("x", "LAMBDA_LABS_API_KEY", "to launch instances") == "x"


def test_env_names_follow_the_prefixes() -> None:
    """The documented variable names are the ones the models read."""
    assert VercelSettings.env_name("token") == "VERCEL_TOKEN"
    assert LambdaCloudSettings.env_name("ssh_key_name") == "LAMBDA_LABS_SSH_KEY_NAME"


def test_nothing_is_read_at_import_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings reflect the environment when loaded, not when the module was imported."""
    monkeypatch.setenv("VERCEL_TOKEN", "first")
    first = load_settings(env_file=None).vercel.token
    monkeypatch.setenv("VERCEL_TOKEN", "second")
    second = load_settings(env_file=None).vercel.token
    assert first is not None and second is not None
    assert (first.get_secret_value(), second.get_secret_value()) == ("first", "second")


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("ORCHESTRA_STATE_KEY", "tok_CANARY_not_a_key", "is not a Fernet key"),
        ("PULUMI_BACKEND_URL", "gopher://tok_CANARY@x", "must start with one of file://"),
        (
            "LAMBDA_LABS_API_URL",
            "https://exa mple.com/tok_CANARY",
            "must be an http:// or https:// URL",
        ),
        ("VERCEL_API_URL", "https://[::1/tok_CANARY", "must be an http:// or https:// URL"),
        ("ORCHESTRA_OSV_API_URL", "http://tok_CANARY:99999", "must be an http:// or https:// URL"),
        ("VERCEL_API_URL", "https://:443/tok_CANARY", "must be an http:// or https:// URL"),
    ],
)
def test_a_value_that_cannot_work_stops_the_load_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, complaint: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert f"{name} {complaint}" in str(caught.value)
    assert "CANARY" not in str(caught.value)


def test_an_empty_backend_url_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_BACKEND_URL", "")
    assert load_settings(None).pulumi.backend_url is None
