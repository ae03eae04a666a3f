"""The passphrase check against the salt state the Pulumi CLI writes (no CLI needed).

The vector is a stack's ``secrets_providers`` salt and the passphrase it was made with, as
the pinned CLI (3.274.1) wrote them for a throwaway test stack.
"""

from __future__ import annotations

import json

import pytest

from orchestra_ops.adapters.pulumi.passphrase import checkpoint_salt, opens

PASSPHRASE = "XwG1lwlsMsqfxBAGtNNvVO98vk26xGqVwhHEuMBjjaE"
SALT = "v1:vZroPsp2UYQ=:v1:xXHdELiWCLQQ32vN:ZOhrnRwMatZGKB9cf0QUYpnl9+0mYw=="


def test_the_stacks_passphrase_opens_its_salt_and_no_other_does() -> None:
    assert opens(PASSPHRASE, SALT)
    assert not opens(PASSPHRASE + " ", SALT)
    assert not opens("", SALT)
    other_salt = SALT.replace("vZroPsp2UYQ=", "AAAAAAAAAAA=")
    assert not opens(PASSPHRASE, other_salt)  # the same sealed word under another salt


@pytest.mark.parametrize(
    "state", ["v2:vZroPsp2UYQ=:v1:xXHdELiWCLQQ32vN:ZOhr", "v1:vZroPsp2UYQ=", "v1:%%%:v1:a:b"]
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
