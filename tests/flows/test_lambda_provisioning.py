"""Track 2 on the Pulumi engine: blue-green rollout, rollback subflow, dry run, TTL cleanup.

The flows run as in production: the Pulumi CLI (``make pulumi``) with the stacks as inline
programs, a file backend in the test's state dir with a generated passphrase, and the
dynamic providers in their plugin process, against the sandbox's Lambda emulator. The
paths that need no engine run here too (a refusal happens before any stack operation).
The flow paths the engine adds nothing to run faster on the engine test double, in
``test_lambda_provisioning_double.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterType
from pydantic import SecretStr

from flows.lambda_provisioning import lambda_provisioning, lambda_ttl_cleanup
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.domain.lambda_cloud import GONE
from orchestra_ops.domain.provisioning import Lease
from orchestra_ops.errors import ConfigError, InsufficientCapacity, RolledBack
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from tasks.provisioning import write_lease
from tests.flows.provisioning_support import (
    api_instances,
    colour_of,
    copy_projects,
    fresh_sandbox,  # noqa: F401 - a sandbox per test
    params,
    use_sandbox,
    webhook,
)
from tests.pulumi_cli import needs_pulumi_cli

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.slow,
    pytest.mark.pulumi_cli,
    needs_pulumi_cli,
]


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    return copy_projects(tmp_path / "pulumi")


@pytest.fixture(autouse=True)
def environment(
    sandbox: tuple[Sandbox, Endpoints], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_sandbox(monkeypatch, sandbox[1], tmp_path / "state", "pulumi")


def test_a_dev_environments_life_from_preview_to_the_expired_lease(
    sandbox: tuple[Sandbox, Endpoints], infra: Path, tmp_path: Path
) -> None:
    """One environment, start to end: a dry run changes nothing; blue serves; a dry run of a
    bigger request changes nothing; an unhealthy green is rolled back while blue keeps
    serving; a healthy green replaces blue; the TTL clean-up ends it once the lease expires.
    The engine counts the stack itself (pulumi:pulumi:Stack) among the resources."""
    runner = sandbox[0]
    stack_files = {p: p.read_bytes() for p in infra.glob("*/Pulumi.dev.yaml")}
    fresh = lambda_provisioning(params(infra, dry_run=True))
    # the stack, the ssh key, the filesystem, the firewall ruleset
    assert fresh.outcome == "planned" and fresh.preview == {"shared:create": 4}
    assert runner.lambda_cloud.log.mutating() == []
    assert {p: p.read_bytes() for p in stack_files} == stack_files  # no salt added either
    stacks = tmp_path / "state" / "pulumi" / "state" / ".pulumi" / "stacks"
    # The stack its preview needed is removed (`stack rm` keeps a dev.json.bak, not a stack).
    assert list(stacks.rglob("dev.json")) == []

    first = lambda_provisioning(params(infra, ttl_hours=1))
    assert first.outcome == "provisioned" and first.serving_colour == "blue"
    assert len(list(stacks.rglob("dev.json"))) == 2  # shared and backend (the path is right)
    (blue,) = api_instances(sandbox)
    assert colour_of(blue) == "blue" and first.instance_ids == [blue.id]
    assert first.api_url == "http://127.0.0.1:8000"
    assert any("healthy" in line for line in first.health)
    with get_client(sync_client=True) as client:
        only = ArtifactFilter(type=ArtifactFilterType(any_=["progress"]))
        bars = {a.description: a.data for a in client.read_artifacts(artifact_filter=only)}
    planned = sum(first.preview.values())  # every step the preview counted was done
    assert bars.get(f"pulumi up backend/dev: done ({planned} resources)") == 100.0, (
        bars,
        first.preview,
    )

    stack_file = infra / "backend" / "Pulumi.dev.yaml"
    before = stack_file.read_bytes()
    runner.lambda_cloud.log.clear()
    bigger = lambda_provisioning(params(infra, dry_run=True, count=2))
    assert bigger.preview == {"shared:same": 4, "backend:same": 2, "backend:create": 1}
    assert runner.lambda_cloud.log.mutating() == []
    assert stack_file.read_bytes() == before
    assert [i.id for i in api_instances(sandbox)] == [blue.id]

    runner.lambda_cloud.set_new_instance_health("fail")
    with pytest.raises(RolledBack) as raised:
        lambda_provisioning(params(infra, ttl_hours=1))
    assert raised.value.restored
    assert "stack state restored from the checkpoint" in str(raised.value)
    assert "no green instance left" in str(raised.value)
    assert "no green instance was left running" in str(raised.value)  # the stack removed it
    assert [i.id for i in api_instances(sandbox)] == [blue.id]
    config = yaml.safe_load(stack_file.read_text())["config"]
    assert config["orchestra-backend:active_colour"] == "blue"

    # The next run, with a healthy release, proceeds from the restored state.
    runner.lambda_cloud.set_new_instance_health("ok")
    second = lambda_provisioning(params(infra, ttl_hours=1))
    assert second.serving_colour == "green"
    (green,) = api_instances(sandbox)
    assert colour_of(green) == "green" and second.instance_ids == [green.id]
    assert green.id != blue.id  # blue was torn down only after green served
    launched = [r for r in runner.lambda_cloud.log.mutating() if r.path.endswith("/launch")]
    assert len(launched) == 2  # one per green attempt: the engine launched nothing twice

    assert lambda_ttl_cleanup(str(infra)) == []  # not expired yet: nothing happens
    assert [i.id for i in api_instances(sandbox)] == [green.id]
    write_lease.fn(Lease("dev", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    done = lambda_ttl_cleanup(str(infra))
    assert done and "dev destroyed" in done[0]
    assert api_instances(sandbox) == []


def test_first_run_that_never_gets_healthy_leaves_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """The rollback subflow's other path: nothing served before, so the stack is destroyed
    and the checkpoint of the never-updated stack imported."""
    sandbox[0].lambda_cloud.set_new_instance_health("fail")
    with pytest.raises(RolledBack) as raised:
        lambda_provisioning(params(infra))
    assert "stack state restored from the checkpoint" in str(raised.value)
    assert api_instances(sandbox) == []


def test_prod_without_an_answer_in_time_is_refused_and_changes_nothing(
    sandbox: tuple[Sandbox, Endpoints], infra: Path
) -> None:
    """Nothing launched, and the stack config is as it was. Creating the stack adds the
    passphrase provider's ``encryptionsalt`` to the stack file: the engine's, not ours."""
    stack_file = infra / "backend" / "Pulumi.prod.yaml"
    before = yaml.safe_load(stack_file.read_text())
    with pytest.raises(ConfigError, match="no approval within 2 s"):
        lambda_provisioning(params(infra, environment="prod", approval_timeout_s=2))
    assert api_instances(sandbox, "prod") == []
    after = yaml.safe_load(stack_file.read_text())
    assert after["config"] == before["config"]
    assert set(after) - set(before) <= {"encryptionsalt"}


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"count": 16, "max_usd_per_hour": 1.0}, ConfigError, "above the ceiling"),
        ({"regions": ["europe-central-1"]}, InsufficientCapacity, "no capacity listed"),
    ],
)
def test_refused_requests_change_nothing(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
    error: type[Exception],
    words: str,
) -> None:
    runner = sandbox[0]
    runner.lambda_cloud.set_capacity("cpu_4x_general", ["us-west-1"])
    runner.lambda_cloud.log.clear()
    with webhook(monkeypatch) as received, pytest.raises(error, match=words):
        lambda_provisioning(params(infra, **changes))
    assert runner.lambda_cloud.log.mutating() == []
    assert not (infra.parent / "state" / "pulumi").exists()  # no stack was even selected
    (notice,) = received
    assert "refused" in json.dumps(notice) and words in json.dumps(notice)


def test_two_states_on_one_account_never_touch_each_other(
    sandbox: tuple[Sandbox, Endpoints],
    infra: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Same project and stack names, another state (another team, another CI machine): B
    launches its own instance beside A's, and B's clean-up leaves A's instance and the
    SSH key, filesystem and ruleset A made."""
    endpoints = sandbox[1]
    lambda_provisioning(params(infra))
    (a_instance,) = api_instances(sandbox)
    a_shared = _account(endpoints)

    use_sandbox(monkeypatch, endpoints, tmp_path / "state-b", "pulumi")
    b_infra = copy_projects(tmp_path / "pulumi-b")
    b = lambda_provisioning(params(b_infra, ttl_hours=1))
    assert b.instance_ids and a_instance.id not in b.instance_ids  # not adopted
    assert _account(endpoints)["instances"] == sorted([a_instance.id, *b.instance_ids])

    write_lease.fn(Lease("dev", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    done = lambda_ttl_cleanup(str(b_infra))
    assert done and "dev destroyed" in done[0]
    # B's destroy left A's instance and the shared objects it had adopted by name.
    assert _account(endpoints) == a_shared


def _account(endpoints: Endpoints) -> dict[str, list[str]]:
    """Everything live on the Lambda account, by id."""
    key = SecretStr(endpoints.lambda_api_key)
    with LambdaCloudClient(endpoints.lambda_api_url, key) as api:
        return {
            "instances": sorted(i.id for i in api.list_instances() if i.status not in GONE),
            "ssh keys": sorted(k.id for k in api.list_ssh_keys()),
            "filesystems": sorted(f.id for f in api.list_filesystems()),
            "rulesets": sorted(r.id for r in api.list_firewall_rulesets()),
        }
