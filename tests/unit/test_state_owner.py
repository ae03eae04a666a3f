"""Whose state a stack lives in: the owner id, and what it keeps apart on one account."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestra_ops.adapters.pulumi.backend import (
    OWNER_FILE,
    check_owner_file,
    choose_backend,
    file_backend_dir,
    passphrase_problem,
    state_owner,
)
from orchestra_ops.domain.lambda_cloud import (
    Instance,
    InstanceId,
    InstanceSpecs,
    InstanceStatus,
    InstanceType,
    Region,
    Tag,
)
from orchestra_ops.domain.pending_ops import OWNER_TAG
from orchestra_ops.domain.provisioning import live_instances_of, untagged_instances_of
from orchestra_ops.errors import ConfigError
from orchestra_ops.recover_orphans import find_orphans
from orchestra_ops.settings import PulumiSettings

A, B = "0123456789abcdef", "fedcba9876543210"


def settings(**values: object) -> PulumiSettings:
    return PulumiSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_file_backend_keeps_one_owner_made_on_first_use(tmp_path: Path) -> None:
    first = state_owner(settings(), tmp_path / "a")
    assert len(first) == 16 and int(first, 16) >= 0
    assert state_owner(settings(), tmp_path / "a") == first
    assert (tmp_path / "a" / "pulumi" / "state" / OWNER_FILE).read_text().strip() == first
    assert state_owner(settings(), tmp_path / "b") != first  # another state dir: another owner


def test_processes_racing_to_make_the_owner_agree(tmp_path: Path) -> None:
    found: list[str] = []
    threads = [
        threading.Thread(target=lambda: found.append(state_owner(settings(), tmp_path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert sorted(p.name for p in (tmp_path / "pulumi" / "state").iterdir()) == [OWNER_FILE]


def test_a_damaged_owner_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "pulumi" / "state" / OWNER_FILE
    path.parent.mkdir(parents=True)
    path.write_text("not-an-id\n")
    with pytest.raises(ConfigError, match=str(path)):
        state_owner(settings(), tmp_path)


def test_service_and_url_backends_are_told_apart_by_what_names_them(tmp_path: Path) -> None:
    token = SecretStr("pul-canary")
    cloud_a = state_owner(settings(access_token=token, org="team-a"), tmp_path)
    assert cloud_a == state_owner(settings(access_token=token, org="team-a"), tmp_path / "x")
    assert cloud_a != state_owner(settings(access_token=token, org="team-b"), tmp_path)
    s3 = state_owner(settings(backend_url="s3://bucket/one"), tmp_path)
    assert s3 != state_owner(settings(backend_url="s3://bucket/two"), tmp_path)
    assert not (tmp_path / "pulumi").exists()  # nothing written for them


def api(id_: str, *, owner: str | None, colour: str = "blue") -> Instance:
    tags = [Tag("role", "api"), Tag("environment", "dev"), Tag("colour", colour)]
    if owner is not None:
        tags.append(Tag(OWNER_TAG, owner))
    return Instance(
        id=InstanceId(id_),
        status=InstanceStatus.ACTIVE,
        region=Region("us-west-1", "California"),
        instance_type=InstanceType("gpu_1x_a10", "", "", 75, InstanceSpecs(30, 200, 512, 1)),
        ssh_key_names=("orchestra-dev",),
        file_system_names=(),
        tags=tuple(tags),
    )


def test_another_owners_instances_are_not_counted_retired_or_orphans() -> None:
    live = [api("mine", owner=A), api("theirs", owner=B), api("legacy", owner=None)]
    assert [i.id for i in live_instances_of(live, "dev", owner=A)] == ["mine"]
    assert [i.id for i in live_instances_of(live, "dev", "blue", owner=B)] == ["theirs"]
    assert find_orphans(live, "dev", {"mine"}, A) == []
    # Launched before owner tags: whose, no state can tell; listed apart, never judged.
    assert [i.id for i in untagged_instances_of(live, "dev")] == ["legacy"]


def _checkpoint(stacks: Path, project: str, owners: list[str | None]) -> None:
    resources = [
        {"type": "pulumi-python:dynamic/lambda:Instance", "inputs": {"owner": owner}}
        for owner in owners
    ]
    path = stacks / project / "dev.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 3, "checkpoint": {"latest": {"resources": resources}}}))


def test_a_lost_owner_file_is_restored_from_what_the_stacks_record(tmp_path: Path) -> None:
    backend = tmp_path / "pulumi" / "state"
    _checkpoint(backend / ".pulumi" / "stacks", "orchestra-backend", [A, A, None])
    assert state_owner(settings(), tmp_path) == A  # not a new id: A's instances stay A's
    assert (backend / OWNER_FILE).read_text().strip() == A


def test_stacks_recording_two_owners_are_not_guessed_between(tmp_path: Path) -> None:
    stacks = tmp_path / "pulumi" / "state" / ".pulumi" / "stacks"
    _checkpoint(stacks, "orchestra-backend", [A])
    _checkpoint(stacks, "orchestra-other", [B])
    with pytest.raises(ConfigError, match=f"{A}, {B}"):
        state_owner(settings(), tmp_path)


def test_stacks_from_before_owner_ids_get_a_new_one(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "pulumi" / "state" / ".pulumi" / "stacks", "orchestra-backend", [None])
    assert state_owner(settings(), tmp_path) not in (A, B)


def test_a_service_backend_needs_its_organisation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PULUMI_ORG"):
        state_owner(settings(access_token=SecretStr("pul-canary")), tmp_path)
    bucket = state_owner(settings(backend_url="s3://bucket/state?region=us-east-1"), tmp_path)
    assert bucket == state_owner(settings(backend_url="s3://bucket/state"), tmp_path)


def test_the_preflight_check_reads_a_damaged_owner_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    check_owner_file(settings(), tmp_path)
    assert not (tmp_path / "pulumi").exists()  # nothing made before a stack is touched
    path = tmp_path / "pulumi" / "state" / OWNER_FILE
    path.parent.mkdir(parents=True)
    path.write_text("damaged\n")
    with pytest.raises(ConfigError, match=str(path)):
        check_owner_file(settings(), tmp_path)


def test_a_lost_passphrase_is_refused_not_replaced_while_stacks_exist(tmp_path: Path) -> None:
    """A new passphrase would not open the stacks, and would hide that the old one is gone.
    The state directory's name holds a space: its file URL says %20 (met by an outside check)."""
    state = tmp_path / "my state"
    stacks = state / "pulumi" / "state" / ".pulumi" / "stacks" / "orchestra-backend"
    stacks.mkdir(parents=True)
    (stacks / "dev.json").write_text("{}")

    with pytest.raises(ConfigError, match="pulumi/passphrase is missing, and the stacks in file"):
        choose_backend(settings(), state)
    assert not (state / "pulumi" / "passphrase").exists()
    assert "restore it from a backup" in str(passphrase_problem(settings(), state))
    assert passphrase_problem(settings(config_passphrase=SecretStr("set")), state) is None

    (stacks / "dev.json").unlink()  # no stack left: one is made on first use
    assert choose_backend(settings(), state).env["PULUMI_CONFIG_PASSPHRASE"]
    assert (state / "pulumi" / "passphrase").exists()


def test_an_empty_passphrase_file_is_refused_and_named(tmp_path: Path) -> None:
    """A truncated file (a full disk, a bad restore) is no passphrase: said, never used."""
    passphrase = tmp_path / "pulumi" / "passphrase"
    passphrase.parent.mkdir(parents=True)
    passphrase.write_text("\n")
    with pytest.raises(ConfigError, match="no stack uses it yet: delete it") as raised:
        choose_backend(settings(), tmp_path)
    assert raised.value.source == str(passphrase)
    stacks = tmp_path / "pulumi" / "state" / ".pulumi" / "stacks" / "orchestra-backend"
    stacks.mkdir(parents=True)
    (stacks / "dev.json").write_text("{}")
    problem = passphrase_problem(settings(), tmp_path)  # what doctor shows
    assert problem is not None and f"{passphrase} is empty: restore it from a backup" in problem
    assert passphrase.read_text() == "\n"  # left for the operator to restore


@pytest.mark.parametrize(
    ("url", "directory"),
    [
        ("file:///tmp/my%20state/pulumi?no_legacy=1", "/tmp/my state/pulumi"),
        ("file://~/pulumi-state", str(Path.home() / "pulumi-state")),
        ("file://relative/state", str(Path.cwd() / "relative" / "state")),
        ("s3://bucket/state", None),
        (None, None),
    ],
)
def test_a_file_backend_url_names_the_directory_the_cli_uses(
    url: str | None, directory: str | None
) -> None:
    found = file_backend_dir(url)
    assert (str(found) if found else None) == directory
