"""Close the top level of every deployment's parameter schema: run by `make deploy`.

The Prefect server checks a ``create_flow_run`` request against the deployment's
``parameter_openapi_schema`` (when ``enforce_parameter_schema`` is on, jsonschema
Draft 2020-12). The flows' parameter models forbid unknown fields inside ``params``,
but ``prefect deploy`` writes the top level of the schema itself, without
``additionalProperties: false``: a request with an extra top-level key would pass the
server and only fail (or be ignored) on the worker. ``prefect.yaml`` cannot change
that, so this step sets every deployment's schema to the flow's own schema with the
top level closed.

Run ``python -m deployments.parameter_schemas`` with PREFECT_API_URL set, after
``prefect deploy``; running it again changes nothing. Exit codes: 0 done, 1 the server
refused or could not be reached, 2 bad ``prefect.yaml`` or a flow that does not load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import DeploymentUpdate
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema

from flows.params import PARAMETER_TITLES
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"


def strict_schema(flow: Flow[Any, Any]) -> dict[str, Any]:
    """The flow's parameter schema as ``prefect deploy`` writes it, top level closed.

    Prefect titles each flow parameter with its Python name (``params``): a parameter
    typed by a model takes the model's title ("Provisioning request"; the v1 UI shows the
    parameter's own title, v2 the model's), a plain one its title from
    ``flows.params.PARAMETER_TITLES``.
    """
    schema = parameter_schema(flow).model_dump_for_openapi()
    schema["additionalProperties"] = False
    definitions = schema.get("definitions", {})
    for name, field in schema.get("properties", {}).items():
        if field.get("title", name) != name:
            continue
        model = definitions.get(str(field.get("$ref", "")).rsplit("/", 1)[-1], {})
        title = model.get("title") or PARAMETER_TITLES.get(name)
        if title:
            field["title"] = title
    return schema


def deployed_flows(prefect_yaml: Path = PREFECT_YAML) -> dict[str, Flow[Any, Any]]:
    """``flow-name/deployment-name`` -> the flow, for every deployment ``prefect_yaml`` lists.

    Entry points are relative to the file's directory (as ``prefect deploy`` reads them).
    """
    try:
        text = prefect_yaml.read_text()
    except OSError as error:
        raise ConfigError(f"{prefect_yaml}: cannot read it ({error.strerror})") from error
    data = load_yaml(text, str(prefect_yaml), typ="safe")
    entries = data.get("deployments") if isinstance(data, dict) else None
    flows: dict[str, Flow[Any, Any]] = {}
    for entry in entries or []:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("entrypoint"):
            raise ConfigError(f"{prefect_yaml}: a deployment without a name or an entrypoint")
        path, _, function = str(entry["entrypoint"]).rpartition(":")
        try:
            flow: Flow[Any, Any] = load_flow_from_entrypoint(
                f"{prefect_yaml.parent / path}:{function}"
            )
        except Exception as error:  # a missing file, an import error, not a flow
            raise ConfigError(
                f"{prefect_yaml}: {entry['name']}: cannot load {entry['entrypoint']} "
                f"({type(error).__name__}: {error})"
            ) from error
        flows[f"{flow.name}/{entry['name']}"] = flow
    if not flows:
        raise ConfigError(f"{prefect_yaml}: no deployment under `deployments:`")
    return flows


def tighten(flows: dict[str, Flow[Any, Any]]) -> list[str]:
    """Set each deployment's schema to the strict one; a line per deployment."""
    lines = []
    with get_client(sync_client=True) as client:
        for name, flow in sorted(flows.items()):
            wanted = strict_schema(flow)
            deployment = client.read_deployment_by_name(name)
            if deployment.parameter_openapi_schema == wanted:
                lines.append(f"unchanged {name}")
                continue
            client.update_deployment(
                deployment.id, DeploymentUpdate(parameter_openapi_schema=wanted)
            )
            lines.append(f"closed the parameter schema of {name}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Close the parameter schema of every deployment in ``prefect.yaml``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefect-yaml", type=Path, default=PREFECT_YAML)
    args = parser.parse_args(argv)
    try:
        flows = deployed_flows(args.prefect_yaml)
    except ConfigError as error:
        print(f"parameter schemas: {error}", file=sys.stderr)
        return 2
    try:
        for line in tighten(flows):
            print(line)
    except Exception as error:  # one line for a person at a terminal, not a traceback
        print(f"parameter schemas: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
