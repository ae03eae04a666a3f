"""The passphrase check against the salt state the Pulumi CLI writes (no CLI needed).

The vectors are salts the pinned CLI (3.274.1) wrote for throwaway test stacks: a state's
``secrets_providers`` salt, and a stack file's ``encryptionsalt`` made under ``OTHER``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestra_ops.adapters.pulumi.passphrase import (
    check_key,
    checkpoint_salt,
    opens,
    stack_file_salt,
)
from orchestra_ops.errors import StackError

PASSPHRASE = "XwG1lwlsMsqfxBAGtNNvVO98vk26xGqVwhHEuMBjjaE"
SALT = "v1:vZroPsp2UYQ=:v1:xXHdELiWCLQQ32vN:ZOhrnRwMatZGKB9cf0QUYpnl9+0mYw=="
OTHER = "another-passphrase"
OTHER_SALT = "v1:RYig8flvPYo=:v1:w6wLSnUERWDcpXeZ:W/LHcYGcM6TNDU4EWB/HdlnN9AeMow=="
HINT = "set PULUMI_CONFIG_PASSPHRASE to that one"


def test_the_stacks_passphrase_opens_its_salt_and_no_other_does() -> None:
    assert opens(PASSPHRASE, SALT)
    assert not opens(PASSPHRASE + " ", SALT)
    assert opens(OTHER, OTHER_SALT) and not opens(PASSPHRASE, OTHER_SALT)


@pytest.mark.parametrize(
    "state",
    ["v2:vZroPsp2UYQ=:v1:xXHdELiWCLQQ32vN:ZOhr", "v1:vZroPsp2UYQ=", "v1:%%%:v1:a:b", "garbage"],
)
def test_a_salt_state_that_is_not_v1_is_an_error_not_a_wrong_passphrase(state: str) -> None:
    with pytest.raises(ValueError, match="salt"):
        opens(PASSPHRASE, state)


def test_the_salt_comes_from_a_passphrase_checkpoint_only() -> None:
    def checkpoint(providers: object) -> str:
        return json.dumps({"version": 3, "deployment": {"secrets_providers": providers}})

    assert checkpoint_salt(checkpoint({"type": "passphrase", "state": {"salt": SALT}})) == SALT
    assert checkpoint_salt(checkpoint({"type": "service", "state": {"url": "x"}})) is None
    assert checkpoint_salt(checkpoint(None)) is None  # a stack never updated
    assert checkpoint_salt(json.dumps({"version": 3, "deployment": {}})) is None
    with pytest.raises(ValueError, match="no salt"):  # the CLI: "malformed state value"
        checkpoint_salt(checkpoint({"type": "passphrase", "state": {}}))


def test_the_salt_of_a_stack_file(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    assert stack_file_salt(path) is None  # no file
    path.write_text("config:\n  p:region: us-west-1\n")
    assert stack_file_salt(path) is None
    path.write_text(f"encryptionsalt: {OTHER_SALT}\nconfig: {{}}\n")
    assert stack_file_salt(path) == OTHER_SALT
    path.write_text("encryptionsalt: [1, 2]\n")
    with pytest.raises(ValueError, match="not a string"):
        stack_file_salt(path)
    path.write_text("encryptionsalt: [unclosed\n")
    with pytest.raises(ValueError, match="not YAML"):
        stack_file_salt(path)


def salts(state: str | None, stack_file: str | None) -> dict[str, Callable[[], str | None]]:
    return {"its state": lambda: state, "backend/Pulumi.dev.yaml": lambda: stack_file}


def test_the_key_must_open_the_salt_of_the_state_and_of_the_stack_file() -> None:
    check_key("backend/dev", PASSPHRASE, salts(SALT, None), HINT)
    check_key("backend/dev", OTHER, salts(None, OTHER_SALT), HINT)
    check_key("backend/dev", None, salts(None, None), HINT)  # nothing encrypted yet
    with pytest.raises(StackError, match=f"does not open the stack's secrets.*{HINT}"):
        check_key("backend/dev", PASSPHRASE + " ", salts(SALT, SALT), HINT)
    with pytest.raises(StackError, match="does not open"):
        check_key("backend/dev", None, salts(SALT, None), HINT)  # no passphrase to be had
    # The state opens, the stack file's salt is another passphrase's: the file is at fault.
    with pytest.raises(StackError, match=r"salt of backend/Pulumi\.dev\.yaml was made with"):
        check_key("backend/dev", PASSPHRASE, salts(SALT, OTHER_SALT), HINT)
    # The state's salt decides: a passphrase the stack file's salt fits is still wrong.
    with pytest.raises(StackError, match=f"does not open the stack's secrets.*{HINT}"):
        check_key("backend/dev", OTHER, salts(SALT, OTHER_SALT), HINT)
    with pytest.raises(StackError, match="does not open"):  # no state salt: the file decides
        check_key("backend/dev", PASSPHRASE, salts(None, OTHER_SALT), HINT)
    with pytest.raises(StackError, match="salt of its state cannot be read"):
        check_key("backend/dev", PASSPHRASE, salts("garbage", None), HINT)
    short_nonce = SALT.replace("xXHdELiWCLQQ32vN", "xK69")
    with pytest.raises(StackError, match=r"cannot be read .*nonce is 3 bytes"):
        check_key("backend/dev", PASSPHRASE, salts(short_nonce, None), HINT)
