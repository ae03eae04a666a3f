"""Validate generated documents against their published JSON schemas (reads package files).

- SARIF 2.1.0: the official OASIS schema vendored in ``domain/security/schemas``;
- CycloneDX: cyclonedx-python-lib's strict JSON validator (its own bundled schemas);
- Dependabot, Renovate, GitHub workflows: check-jsonschema's vendored SchemaStore copies.

Each function returns the list of problems (empty when valid), each naming the JSON path.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from jsonschema.validators import validator_for

_SCHEMASTORE = "check_jsonschema.builtin_schemas.vendor"
_SCHEMASTORE_FILES = {
    "dependabot": "dependabot.json",
    "renovate": "renovate.json",
    "github-workflows": "github-workflows.json",
}
_CYCLONEDX = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}


@cache
def _schema(package: str, filename: str) -> Any:
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return json.loads(text)


def _problems(schema: Any, document: Any) -> list[str]:
    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]


def sarif_schema() -> Any:
    """The vendored SARIF 2.1.0 schema."""
    return _schema("orchestra_ops.domain.security.schemas", "sarif-schema-2.1.0.json")


def validate_sarif(document: Any) -> list[str]:
    """Problems of a SARIF log against the official 2.1.0 schema."""
    return _problems(sarif_schema(), document)


def validate_config(kind: str, document: Any) -> list[str]:
    """Problems of a ``dependabot``, ``renovate`` or ``github-workflows`` document."""
    if kind not in _SCHEMASTORE_FILES:
        raise ValueError(f"unknown config kind {kind!r}; use one of {sorted(_SCHEMASTORE_FILES)}")
    return _problems(_schema(_SCHEMASTORE, _SCHEMASTORE_FILES[kind]), document)


def validate_cyclonedx(document: dict[str, Any]) -> list[str]:
    """Problems of a CycloneDX JSON SBOM against its spec version's strict schema."""
    version = str(document.get("specVersion"))
    if version not in _CYCLONEDX:
        return [f"specVersion {version!r} is not one of {sorted(_CYCLONEDX)}"]
    error = JsonStrictValidator(_CYCLONEDX[version]).validate_str(json.dumps(document))
    if error is None:
        return []
    data = getattr(error, "data", None)
    message = getattr(data, "message", None) or str(error).splitlines()[0]
    path = "/".join(str(p) for p in getattr(data, "absolute_path", []))
    return [f"{path or '(root)'}: {message}"]
