"""The bad-input corpus: every malformed file gives a clear error and changes nothing.

One case per file in ``corpus/``. Each file is copied into a scratch tree under the name
its reader expects (``app/package.json``, ``security-policy.yaml``, ``reorg.yaml``...),
the public reader runs on it, and the test checks the error type from
``orchestra_ops.errors``, that the message names the file (or the key) and says what is
wrong, that it stays short, and that the scratch tree is byte-identical afterwards.
Flow parameters are checked the same way against each flow's pydantic model and Prefect's
own parameter validation (what a REST-created run goes through).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML

from flows.frontend_migration import FrontendMigrationParams, frontend_migration
from flows.lambda_provisioning import lambda_provisioning
from flows.params import ProvisioningParams
from flows.roadmap import RoadmapParams, roadmap
from flows.security_scan import SecurityScanParams, security_scan
from flows.stack_reorganisation import ReorgParams, stack_reorganisation
from orchestra_ops.adapters.app_source import read_app_texts
from orchestra_ops.domain.frontend.migration import plan_migration
from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import check_mapping, parse_mapping
from orchestra_ops.domain.security.manifests import npm_lock_versions, parse_requirements
from orchestra_ops.domain.security.reports import findings_from_report
from orchestra_ops.domain.stack_config import (
    BACKEND_PROJECT,
    SHARED_PROJECT,
    backend_config,
    shared_config,
)
from orchestra_ops.errors import ConfigError
from orchestra_ops.security_scan import _previous, load_policy

CORPUS = Path(__file__).parent / "corpus"
API = "https://api.example.com"
MAX_MESSAGE = 2000  # a clear error is short: it never echoes a whole file back

VITE_PACKAGE = json.dumps(
    {"name": "admin", "devDependencies": {"vite": "5.4.0"}, "scripts": {"build": "vite build"}}
)
NEXT_PACKAGE = json.dumps(
    {"name": "dashboard", "dependencies": {"next": "14.2.0"}, "scripts": {"build": "next build"}}
)
PROJECTS = {
    "legacy/frontend/Pulumi.yaml": "name: legacy-frontend\nruntime: nodejs\n",
    "legacy/frontend/index.ts": "export const x = 1;\n",
    "legacy/backend/Pulumi.yaml": "name: legacy-backend\nruntime: python\n",
    "legacy/backend/__main__.py": "x = 1\n",
}


# --- readers: each runs the public entry point on the scratch tree -------------------


def _app(root: Path) -> object:
    return plan_migration("app", read_app_texts(root / "app"), API, [], {})


def _policy(root: Path) -> object:
    return load_policy(root)


def _requirements(root: Path) -> object:
    return parse_requirements((root / "requirements.txt").read_text("utf-8"), "requirements.txt")


def _npm_lock(root: Path) -> object:
    return npm_lock_versions((root / "package-lock.json").read_text("utf-8"), "package-lock.json")


def _report(root: Path) -> object:
    return findings_from_report(json.loads((root / "report.json").read_text("utf-8")))


def _snapshot(root: Path) -> dict[str, str]:
    """The tree as the reorganisation reads it (undecodable bytes kept, as read_snapshot does)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes().decode("utf-8", "surrogateescape")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _pulumi(root: Path) -> object:
    return discover(_snapshot(root))


def _mapping(root: Path) -> object:
    mapping = parse_mapping((root / "reorg.yaml").read_text("utf-8"), source="reorg.yaml")
    check_mapping(mapping, discover(PROJECTS))
    return mapping


def _stack_raw(text: str, project: str) -> dict[str, str | None]:
    """A stack file's ``project:key`` values as the raw strings Pulumi hands a program."""
    config = YAML(typ="safe").load(text)["config"]
    return {
        key.split(":", 1)[1]: value if isinstance(value, str) else json.dumps(value)
        for key, value in config.items()
        if key.startswith(f"{project}:")
    }


def _backend(root: Path) -> object:
    text = (root / "Pulumi.dev.yaml").read_text("utf-8")
    return backend_config(_stack_raw(text, BACKEND_PROJECT), "dev")


def _shared(root: Path) -> object:
    text = (root / "Pulumi.dev.yaml").read_text("utf-8")
    return shared_config(_stack_raw(text, SHARED_PROJECT), "dev")


@dataclass(frozen=True)
class Case:
    """One corpus file: where it goes, who reads it, and what the error must say."""

    file: str
    place: str
    run: Callable[[Path], object]
    names: str  # the file or key the message must name
    says: str  # what is wrong, as the message must say it
    error: type[Exception] = ConfigError
    extra: dict[str, str] = field(default_factory=dict)


VITE = {"app/package.json": VITE_PACKAGE}
NEXT = {"app/package.json": NEXT_PACKAGE}
BACKEND = {"legacy/backend/Pulumi.yaml": "name: legacy-backend\nruntime: python\n"}


def app(file: str, name: str, line: str, says: str, extra: dict[str, str] | None = None) -> Case:
    """A file of the frontend app ``app/``, read as the migration reads it."""
    where = f"app/{name}{line}"
    return Case(f"frontend/{file}", f"app/{name}", _app, where, says, extra=extra or {})


def security(file: str, run: Callable[[Path], object], name: str, line: str, says: str) -> Case:
    """A manifest or policy at the repo root."""
    return Case(f"security/{file}", name, run, f"{name}{line}", says)


def policy(file: str, line: str, says: str) -> Case:
    """``security-policy.yaml``, loaded as the scan loads it."""
    return security(file, _policy, "security-policy.yaml", line, says)


def report(file: str, names: str) -> Case:
    """A previous scan report; its reader's documented error is ValueError."""
    return Case(
        f"security/{file}", "report.json", _report, names, "damaged security report", ValueError
    )


def pulumi(
    file: str, place: str, line: str, says: str, extra: dict[str, str] | None = None
) -> Case:
    """A project or stack file in the reorganisation's snapshot."""
    return Case(f"reorg/{file}", place, _pulumi, f"{place}{line}", says, extra=extra or {})


def mapping(file: str, line: str, says: str) -> Case:
    """``reorg.yaml``, parsed and checked against a two-project repo."""
    return Case(f"reorg/{file}", "reorg.yaml", _mapping, f"reorg.yaml{line}", says)


def stack(file: str, run: Callable[[Path], object], key: str, says: str) -> Case:
    """A program's ``Pulumi.dev.yaml``; errors name the namespaced key."""
    return Case(f"stack_config/{file}", "Pulumi.dev.yaml", run, key, says)


PKG = "package.json"
VJ = "vercel.json"
NC = "next.config.js"
DC = "docker-compose.yml"
REQ = "requirements.txt"
LOCK = "package-lock.json"
FRONT = "legacy/frontend/Pulumi.yaml"
BACK = "legacy/backend/Pulumi.yaml"

CASES = [
    app("package_truncated.json", PKG, ":5", "not valid JSON"),
    app("package_empty.json", PKG, ":1", "not valid JSON"),
    app("package_array.json", PKG, "", "must hold a JSON object"),
    app("package_dependencies_list.json", PKG, "", "dependencies must be an object"),
    app("package_no_build_script.json", PKG, "", "no scripts.build"),
    app("package_not_a_frontend.json", PKG, "", "neither next nor vite"),
    app("package_binary.json", PKG, "", "not UTF-8 text"),
    app("package_huge_line.json", PKG, ":1", "not valid JSON"),
    app("vercel_truncated.json", VJ, ":5", "not valid JSON", VITE),
    app("vercel_array.json", VJ, "", "must hold a JSON object", VITE),
    app(
        "vercel_mixed_routing.json",
        VJ,
        "",
        "`routes` cannot be used together with `rewrites`",
        VITE,
    ),
    app("vercel_rewrites_object.json", VJ, "", "`rewrites` must be a list of objects", VITE),
    app("vercel_route_captures.json", VJ, "", "uses captures", VITE),
    app("vercel_builds_config_string.json", VJ, "", "`builds[0].config` must be an object", VITE),
    app("vercel_routes_string.json", VJ, "", "`routes` must be a list of objects", VITE),
    app("next_function_config.js", NC, "", "no plain config object literal", NEXT),
    app("next_unbalanced.js", NC, "", "unbalanced braces", NEXT),
    app("next_two_configs.js", NC, "", "several config object literals", NEXT),
    app("Dockerfile_unclosed_quote", "Dockerfile", ":3", "cannot parse ENV", VITE),
    app("Dockerfile_bad_name", "Dockerfile", ":2", "'1API_URL' is not a valid variable", VITE),
    app("dotenv_no_equals.env", ".env", ":2", "expected KEY=value", VITE),
    app("dotenv_binary.env", ".env.production", "", "not UTF-8 text", VITE),
    app("compose_tabs.yml", DC, ":5", "not valid YAML", VITE),
    app("compose_environment_string.yml", DC, "", "environment must be a list or a mapping", VITE),
    app("compose_duplicate_keys.yml", DC, ":6", "not valid YAML", VITE),
    app("compose_no_services.yml", DC, "", "no services mapping", VITE),
    app("compose_impossible_date.yml", DC, "", "day is out of range for month", VITE),
    security("requirements_bad_line.txt", _requirements, REQ, ":2", "not shown"),
    security("requirements_huge_line.txt", _requirements, REQ, ":2", "cannot read a requirement"),
    security("npm_lock_truncated.json", _npm_lock, LOCK, ":6", "not valid JSON"),
    security("npm_lock_v1.json", _npm_lock, LOCK, "", "dependency 'vite' has no version object"),
    security("npm_lock_packages_list.json", _npm_lock, LOCK, "", "no `packages` section"),
    policy("policy_tabs.yaml", ":3", "not valid YAML"),
    policy("policy_duplicate_keys.yaml", ":3", 'duplicate key "threshold"'),
    policy("policy_expired_ignore_no_reason.yaml", ":4", "an ignore needs a reason"),
    policy("policy_impossible_date.yaml", "", "day is out of range for month"),
    policy("policy_unknown_threshold.yaml", ":1", "unknown severity 'severe'"),
    policy("policy_ignore_mapping.yaml", ":1", "ignore must be a list of entries"),
    policy("policy_package_override_scalar.yaml", ":2", "jinja2: expected {threshold: LEVEL}"),
    policy("policy_binary.yaml", "", "not UTF-8 text"),
    report("report_finding_missing_package.json", "'package'"),
    report("report_findings_not_a_list.json", "findings"),
    pulumi("pulumi_tabs.yaml", FRONT, ":3", "not valid YAML"),
    pulumi("pulumi_no_name.yaml", FRONT, ":1", "needs a name"),
    pulumi("pulumi_runtime_options_list.yaml", BACK, ":4", "runtime options must be a mapping"),
    pulumi("pulumi_binary.yaml", BACK, "", "unacceptable character"),
    pulumi(
        "stack_config_duplicate_keys.yaml",
        "legacy/backend/Pulumi.dev.yaml",
        ":4",
        'duplicate key "aws:region"',
        BACKEND,
    ),
    mapping("mapping_tabs.yaml", ":3", "not valid YAML"),
    mapping("mapping_duplicate_keys.yaml", ":6", 'duplicate key "name"'),
    mapping(
        "mapping_two_projects_one_place.yaml", ":6", "target 'infrastructure/pulumi/app' is also"
    ),
    mapping(
        "mapping_stack_file_target.yaml", ":3", "Pulumi reads Pulumi.<name>.yaml as the config"
    ),
    mapping("mapping_outside_repo.yaml", ":3", "points outside the repo"),
    mapping("mapping_projects_mapping.yaml", ":1", "projects must be a list of entries"),
    mapping("mapping_unknown_source.yaml", ":2", "no Pulumi project in 'legacy/nowhere'"),
    mapping("mapping_empty.yaml", ":1", "must be a YAML mapping"),
    mapping("mapping_bad_name.yaml", ":4", "not a valid Pulumi project name"),
    stack("backend_count_zero.yaml", _backend, "orchestra-backend:count", "must be at least 1"),
    stack("backend_unknown_region.yaml", _backend, "orchestra-backend:regions", "['mars-north-1']"),
    stack("backend_regions_wrong_type.yaml", _backend, "orchestra-backend:regions", "of strings"),
    stack("backend_nan_timeout.yaml", _backend, "orchestra-backend:active_timeout_s", "positive"),
    stack("backend_attach_shared_yes.yaml", _backend, "orchestra-backend:attach_shared", "true"),
    stack("backend_port_text.yaml", _backend, "orchestra-backend:api_port", "is not valid"),
    stack("shared_bad_filesystem.yaml", _shared, "orchestra-shared:filesystem_name", "must match"),
    stack("shared_unknown_region.yaml", _shared, "orchestra-shared:region", "['moon-base-1']"),
]


def _tree_digest(root: Path) -> str:
    """Every path (files and directories) and every file's bytes under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        if path.is_file():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def test_every_corpus_file_has_exactly_one_case() -> None:
    """New corpus files cannot be forgotten, and no case points at a missing file."""
    on_disk = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    payloads = {f"flow_params/{name}" for name in PAYLOADS}
    cased = [case.file for case in CASES]
    assert len(cased) == len(set(cased))
    assert on_disk == set(cased) | payloads


@pytest.mark.parametrize("case", CASES, ids=[c.file.split("/", 1)[1] for c in CASES])
def test_bad_file_gives_a_clear_error_and_no_side_effect(case: Case, tmp_path: Path) -> None:
    """The documented error, naming the file or key and the problem; the tree untouched."""
    for relative, text in case.extra.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    target = tmp_path / case.place
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / case.file, target)
    before = _tree_digest(tmp_path)

    with pytest.raises(case.error) as caught:
        case.run(tmp_path)

    message = str(caught.value)
    assert case.names in message
    assert case.says in message
    assert len(message) <= MAX_MESSAGE, f"{len(message)} characters"
    assert _tree_digest(tmp_path) == before
    assert (CORPUS / case.file).read_bytes() == target.read_bytes()


def test_a_damaged_previous_report_only_costs_the_trend(tmp_path: Path) -> None:
    """The scan reads last run's report for the trend; damage there must not fail the scan."""
    for case in CASES:
        if case.run is _report:
            shutil.copyfile(CORPUS / case.file, tmp_path / "report.json")
            before = _tree_digest(tmp_path)
            assert _previous(tmp_path) is None
            assert _tree_digest(tmp_path) == before
    (tmp_path / "report.json").write_bytes((CORPUS / "frontend/package_binary.json").read_bytes())
    assert _previous(tmp_path) is None


# --- flow parameters ------------------------------------------------------------------

# payload file -> (model, flow, the field at fault as pydantic locates it)
PAYLOADS: dict[str, tuple[type[BaseModel], Any, tuple[str | int, ...]]] = {
    "frontend_migration_bad_url.json": (
        FrontendMigrationParams,
        frontend_migration,
        ("backend_api_url",),
    ),
    "frontend_migration_missing_app.json": (FrontendMigrationParams, frontend_migration, ("app",)),
    "frontend_migration_health_zero.json": (
        FrontendMigrationParams,
        frontend_migration,
        ("health", "consecutive"),
    ),
    "frontend_migration_env_overrides_list.json": (
        FrontendMigrationParams,
        frontend_migration,
        ("env_overrides",),
    ),
    "lambda_provisioning_unknown_environment.json": (
        ProvisioningParams,
        lambda_provisioning,
        ("environment",),
    ),
    "lambda_provisioning_region_shape.json": (
        ProvisioningParams,
        lambda_provisioning,
        ("regions", 1),
    ),
    "roadmap_bad_url.json": (RoadmapParams, roadmap, ("backend_api_url",)),
    "roadmap_plan_only_text.json": (RoadmapParams, roadmap, ("plan_only",)),
    "security_scan_fix_yes.json": (SecurityScanParams, security_scan, ("fix",)),
    "security_scan_concurrency_zero.json": (
        SecurityScanParams,
        security_scan,
        ("max_concurrency",),
    ),
    "stack_reorganisation_bad_action.json": (ReorgParams, stack_reorganisation, ("action",)),
    "stack_reorganisation_repo_path_number.json": (
        ReorgParams,
        stack_reorganisation,
        ("repo_path",),
    ),
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_invalid_flow_parameters_name_the_field(name: str) -> None:
    """The model refuses the payload at that field, and so does a run created over REST."""
    model, flow, loc = PAYLOADS[name]
    payload = json.loads((CORPUS / "flow_params" / name).read_text("utf-8"))

    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    errors = caught.value.errors()
    assert [e["loc"] for e in errors] == [loc]
    assert ".".join(map(str, loc)) in str(caught.value)

    # Prefect validates a run's parameters against the same model before the flow starts.
    with pytest.raises(ParameterTypeError) as refused:
        flow.validate_parameters({"params": payload})
    assert "params." + ".".join(map(str, loc)) in str(refused.value)
