"""The shared and backend Pulumi programs under pulumi's mocks (no engine, no cloud)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from orchestra_ops.adapters.pulumi.programs import backend, shared
from orchestra_ops.domain.lambda_cloud import REGION_NAMES
from orchestra_ops.domain.stack_config import backend_config, shared_config
from orchestra_ops.errors import ConfigError
from orchestra_ops.sandbox.lambda_cloud.catalog import INSTANCE_TYPES
from tests.pulumi_mocks import mocked_pulumi

INFRA = Path(__file__).resolve().parents[4] / "infrastructure" / "pulumi"
SHARED_OUTPUTS = {
    "ssh_key_name": "orchestra-dev",
    "filesystem_name": "orchestra-dev-data",
    "firewall_ruleset_id": "fw-123",
}


class Mocks(pulumi.runtime.Mocks):
    """Echo inputs back with made-up computed outputs; record every resource."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        if args.typ == "pulumi:pulumi:StackReference":
            return f"{args.name}-id", {**args.inputs, "outputs": SHARED_OUTPUTS}
        state = dict(args.inputs)
        index = len(self.resources)
        if args.typ.endswith("lambda:Instance"):
            state.update(
                instance_id=f"i-{index}",
                ip=f"198.51.100.{index}",
                live_hostname=args.inputs["hostname"],
                region=args.inputs["regions"][0],
                chosen_instance_type=args.inputs["instance_type"],
            )
        computed = {
            "SshKey": "key_id",
            "Filesystem": "filesystem_id",
            "FirewallRuleset": "ruleset_id",
        }
        kind = args.typ.rsplit(":", 1)[-1]
        if kind in computed:
            state[computed[kind]] = f"{computed[kind]}-{index}"
        return f"{args.name}-{index}", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def mocks() -> Iterator[Mocks]:
    m = Mocks()
    with mocked_pulumi(m, project="orchestra-backend", stack="dev"):
        yield m


def configure(project: str, values: dict[str, Any]) -> None:
    pulumi.runtime.set_all_config(
        {f"{project}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    )


def stack_config(project: str, stack: str) -> dict[str, str]:
    """A Pulumi.<stack>.yaml as the raw strings Pulumi hands the program."""
    data = yaml.safe_load((INFRA / project / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {
        key.split(":", 1)[1]: value if isinstance(value, str) else json.dumps(value)
        for key, value in data.items()
    }


# --- programs under mocks ------------------------------------------------------------------


def of_type(mocks: Mocks, suffix: str) -> list[pulumi.runtime.MockResourceArgs]:
    return [r for r in mocks.resources if r.typ.endswith(suffix)]


@pulumi.runtime.test
def test_backend_outputs_and_fully_qualified_stack_reference(mocks: Mocks) -> Any:
    configure(
        "orchestra-backend",
        {"instance_type": "cpu_4x_general", "regions": ["us-west-1"], "count": "2"},
    )
    outputs = backend.program()

    def check(values: list[Any]) -> None:
        ids, ips, hostnames, api_url = values
        # Registration is asynchronous: look at what was registered once outputs resolved.
        references = of_type(mocks, "pulumi:pulumi:StackReference")
        assert [r.name for r in references] == ["organization/orchestra-shared/dev"]
        assert references[0].inputs["name"] == "organization/orchestra-shared/dev"
        instances = of_type(mocks, "lambda:Instance")
        assert len(instances) == 2
        assert "__provider" in instances[0].inputs  # the serialized (dill) provider
        assert len(ids) == 2 and all(i.startswith("i-") for i in ids)
        assert all(ip.startswith("198.51.100.") for ip in ips)
        assert hostnames == ["orchestra-api-dev-blue-0", "orchestra-api-dev-blue-1"]
        assert api_url == f"http://{ips[0]}:8000"

    return pulumi.Output.all(
        outputs["instance_ids"], outputs["ips"], outputs["hostnames"], outputs["api_url"]
    ).apply(check)


@pulumi.runtime.test
def test_backend_wires_shared_outputs_into_the_instances(mocks: Mocks) -> Any:
    configure(
        "orchestra-backend",
        {"instance_type": "gpu_1x_a10", "regions": ["us-west-1"], "org": "acme"},
    )
    outputs = backend.program()

    def check(values: list[Any]) -> None:
        name, _ids = values
        assert name == "acme/orchestra-shared/dev"
        assert [r.name for r in of_type(mocks, "StackReference")] == [name]
        (instance,) = of_type(mocks, "lambda:Instance")
        assert instance.inputs["ssh_key_name"] == "orchestra-dev"
        assert instance.inputs["file_system_names"] == ["orchestra-dev-data"]
        assert instance.inputs["firewall_ruleset_ids"] == ["fw-123"]
        assert instance.inputs["tags"]["environment"] == "dev"
        assert len(instance.inputs["resource_key"]) == 32
        assert not any("key" in k and "api" in k for k in instance.inputs)

    return pulumi.Output.all(outputs["shared_stack"], outputs["instance_ids"]).apply(check)


@pulumi.runtime.test
def test_shared_outputs(mocks: Mocks) -> Any:
    configure("orchestra-shared", stack_config("shared", "dev"))
    outputs = shared.program()

    def check(values: list[Any]) -> None:
        types = sorted(r.typ.split(":", 1)[1] for r in mocks.resources if "lambda:" in r.typ)
        assert types == [
            "dynamic/lambda:Filesystem",
            "dynamic/lambda:FirewallRuleset",
            "dynamic/lambda:SshKey",
        ]
        (ruleset,) = of_type(mocks, "FirewallRuleset")
        ports = [rule["port_range"] for rule in ruleset.inputs["rules"]]
        assert ports == [[22, 22], [443, 443], [8000, 8000]]
        assert values[:3] == ["orchestra-dev", "orchestra-dev-data", "us-west-1"]
        assert [str(v).split("-")[0] for v in values[3:]] == [
            "key_id",
            "filesystem_id",
            "ruleset_id",
        ]

    return pulumi.Output.all(
        outputs["ssh_key_name"],
        outputs["filesystem_name"],
        outputs["region"],
        outputs["ssh_key_id"],
        outputs["filesystem_id"],
        outputs["firewall_ruleset_id"],
    ).apply(check)


@pulumi.runtime.test
def test_the_generated_private_key_is_a_secret_output(mocks: Mocks) -> Any:
    """Secret in the program itself: mocks (and the engine double) ignore the option."""
    configure("orchestra-shared", stack_config("shared", "dev"))
    outputs = shared.program()

    async def check() -> None:
        assert await pulumi.Output.from_input(outputs["ssh_private_key"]).is_secret()

    return asyncio.ensure_future(check())


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"regions": ["us-west-1"], "count": "0", "instance_type": "x"}, "count"),
        ({"regions": ["mars-1"], "instance_type": "x"}, "regions"),
        ({"regions": ["us-west-1"], "instance_type": "  "}, "instance_type"),
        ({"regions": [], "instance_type": "x"}, "regions"),
        ({"regions": ["us-west-1"], "instance_type": "x", "count": "two"}, "count"),
    ],
)
def test_backend_config_errors_name_the_key(mocks: Mocks, values: dict[str, Any], key: str) -> None:
    configure("orchestra-backend", values)

    @pulumi.runtime.test
    def run() -> Any:
        return backend.program()

    with pytest.raises(ConfigError) as info:
        run()
    assert info.value.source == f"orchestra-backend:{key}"
    assert f"orchestra-backend:{key}" in str(info.value)
    assert not [r for r in mocks.resources if r.typ.endswith("lambda:Instance")]


def test_shared_config_errors() -> None:
    with pytest.raises(ConfigError, match="orchestra-shared:region"):
        shared_config({"region": "nowhere-1"}, "dev")
    with pytest.raises(ConfigError, match="orchestra-shared:filesystem_name"):
        shared_config({"filesystem_name": "9-starts-with-digit"}, "dev")


# --- the stack files ------------------------------------------------------------------------


def test_stack_files_are_valid_and_match_the_plan() -> None:
    dev = backend_config(stack_config("backend", "dev"), "dev")
    prod = backend_config(stack_config("backend", "prod"), "prod")
    smallest = min(INSTANCE_TYPES.values(), key=lambda t: t["price_cents_per_hour"])
    assert dev.instance_type == smallest["name"] == "cpu_4x_general"
    assert (prod.instance_type, prod.fallback_instance_types) == (
        "gpu_1x_a10",
        ("gpu_1x_a100_sxm4",),
    )
    assert prod.count >= 1 and set(prod.regions) <= set(REGION_NAMES)
    for stack in ("dev", "prod"):
        assert shared_config(stack_config("shared", stack), stack).region in REGION_NAMES
        for project in ("shared", "backend"):
            data = yaml.safe_load((INFRA / project / f"Pulumi.{stack}.yaml").read_text())
            assert all(k.startswith(f"orchestra-{project}:") for k in data["config"])
    for project in ("shared", "backend"):
        meta = yaml.safe_load((INFRA / project / "Pulumi.yaml").read_text())
        assert meta["name"] == f"orchestra-{project}"
        assert meta["runtime"]["name"] == "python"
        assert "program()" in (INFRA / project / "__main__.py").read_text()


@pulumi.runtime.test
def test_backend_mid_blue_green_declares_both_colours_and_serves_the_active(mocks: Mocks) -> Any:
    configure(
        "orchestra-backend",
        {
            "instance_type": "cpu_4x_general",
            "regions": ["us-west-1"],
            "count": "1",
            "colours": ["blue", "green"],
            "active_colour": "green",
        },
    )
    outputs = backend.program()

    def check(values: list[Any]) -> None:
        colours, hostnames = values
        instances = of_type(mocks, "lambda:Instance")
        assert sorted(r.name for r in instances) == ["api-blue-0", "api-green-0"]
        assert {r.inputs["tags"]["colour"] for r in instances} == {"blue", "green"}
        assert set(colours) == {"blue", "green"}
        assert hostnames == ["orchestra-api-dev-green-0"]

    return pulumi.Output.all(outputs["colours"], outputs["hostnames"]).apply(check)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"colours": ["red"]}, "colours"),
        ({"colours": ["blue", "blue"]}, "colours"),
        ({"colours": ["blue"], "active_colour": "green"}, "active_colour"),
    ],
)
def test_colour_config_errors_name_the_key(values: dict[str, Any], key: str) -> None:
    raw = {"instance_type": "x", "regions": '["us-west-1"]'}
    raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})
    with pytest.raises(ConfigError, match=f"orchestra-backend:{key}"):
        backend_config(raw, "dev")
