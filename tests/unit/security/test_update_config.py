"""Generated Dependabot, Renovate and workflow files: valid against the vendored
SchemaStore schemas, carrying the roadmap's content, and shown as a diff before writing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.adapters.update_config import plan_config_files, write_config_files
from orchestra_ops.domain.github_actions import PINS
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, Unsupported
from orchestra_ops.domain.security.update_config import (
    GENERATED_HEADER,
    config_diff,
    dependabot_config,
    renovate_config,
    to_yaml,
    update_directories,
)
from orchestra_ops.domain.security.workflow import security_audit_workflow

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orchestra-main"
PINNED_USES = re.compile(r"^\s*(?:- )?uses: ([\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def load(text: str) -> Any:
    """Parse YAML text to plain data (YAML 1.2, as ruamel reads it)."""
    return YAML(typ="safe").load(text)


def test_dependabot_config_is_valid_and_has_the_plan() -> None:
    """pip daily 09:00 LA with the security group; npm weekly per frontend; found dirs too."""
    text = to_yaml(
        dependabot_config(["/", "/infrastructure/pulumi"], ["/admin-interface", "/dashboard"]),
        GENERATED_HEADER,
    )
    document = load(text)
    assert validate_config("dependabot", document) == []
    assert 'time: "09:00"' in text  # a bare 09:00 is 540 to a YAML 1.1 reader
    pip = {u["directory"]: u for u in document["updates"] if u["package-ecosystem"] == "pip"}
    assert set(pip) == {"/", "/infrastructure/pulumi"}
    root = pip["/"]
    assert root["schedule"] == {
        "interval": "daily",
        "time": "09:00",
        "timezone": "America/Los_Angeles",
    }
    assert root["commit-message"] == {
        "prefix": "security",
        "prefix-development": "deps-dev",
        "include": "scope",
    }
    assert root["open-pull-requests-limit"] == 15
    assert root["groups"]["security-updates"] == {
        "applies-to": "security-updates",
        "patterns": ["*"],
    }
    npm = {u["directory"]: u for u in document["updates"] if u["package-ecosystem"] == "npm"}
    assert npm["/admin-interface"]["schedule"] == {"interval": "weekly"}
    assert npm["/admin-interface"]["commit-message"] == {"prefix": "deps-frontend"}
    assert npm["/admin-interface"]["open-pull-requests-limit"] == 10
    assert npm["/dashboard"]["commit-message"] == {"prefix": "deps-dashboard"}


def test_the_dependabot_schema_rejects_a_bad_file() -> None:
    """The validator is real: an unknown interval and a missing directory are reported."""
    document = dependabot_config()
    document["updates"][0]["schedule"]["interval"] = "hourly"
    del document["updates"][1]["directory"]
    assert validate_config("dependabot", document) != []


def test_update_directories_come_from_discovery() -> None:
    """pip dirs of requirements files; npm dirs of package-lock and other JS lockfiles."""
    manifests = [
        Manifest("requirements.txt", ManifestKind.REQUIREMENTS),
        Manifest("infrastructure/pulumi/requirements.txt", ManifestKind.REQUIREMENTS),
        Manifest("dashboard/package-lock.json", ManifestKind.NPM_LOCK),
    ]
    unsupported = [
        Unsupported("admin-interface/pnpm-lock.yaml", "pnpm"),
        Unsupported("tools/pyproject.toml", "no lock"),
    ]
    assert update_directories(manifests, unsupported) == (
        ["/", "/infrastructure/pulumi"],
        ["/admin-interface", "/dashboard"],
    )


def test_renovate_config_is_valid_and_uses_current_names() -> None:
    """The plan's rules with config:recommended and matchPackageNames (no deprecated keys)."""
    document = renovate_config()
    assert validate_config("renovate", document) == []
    assert document["extends"] == ["config:recommended", "security:openssf-scorecard"]
    assert document["schedule"] == ["before 6am on monday"]
    assert document["separateMinorPatch"] and document["separateMultipleMajor"]
    assert document["separateMajorMinor"]
    assert document["vulnerabilityAlerts"] == {"enabled": True, "schedule": ["at any time"]}
    assert document["osvVulnerabilityAlerts"] is True
    types, dev = document["packageRules"]
    assert types == {
        "matchPackageNames": ["/^@types//"],
        "groupName": "type definitions",
        "automerge": True,
    }
    assert dev == {
        "matchDepTypes": ["devDependencies"],
        "automerge": True,
        "minimumReleaseAge": "3 days",
    }
    assert "config:base" not in str(document) and "matchPackagePatterns" not in str(document)


def test_security_workflow_is_valid_pinned_and_least_privilege() -> None:
    """Triggers of the plan; every action at a full SHA with its version; minimal permissions."""
    text = security_audit_workflow(
        ["requirements.txt", "infrastructure/pulumi/requirements.txt"],
        ["admin-interface", "dashboard"],
    )
    document = load(text)
    assert validate_config("github-workflows", document) == []
    assert document["on"]["schedule"] == [{"cron": "0 14 * * 1"}]  # 06:00 in LA, winter
    assert "# weekly: Monday 14:00 UTC = 06:00 America/Los_Angeles" in text
    assert document["on"]["push"] == {"branches": ["main"]}
    assert "pull_request" in document["on"]
    assert document["permissions"] == {"contents": "read"}
    jobs = document["jobs"]
    writers = {
        name for name, job in jobs.items() if "security-events" in job.get("permissions", {})
    }
    assert writers == {"sarif"}
    assert jobs["pip-audit"]["strategy"]["matrix"]["manifest"] == [
        "requirements.txt",
        "infrastructure/pulumi/requirements.txt",
    ]
    assert "--no-deps --disable-pip" in text and "pip-audit --strict" in text
    assert "npm audit --audit-level=high" in text
    uses = [line for line in text.splitlines() if "uses:" in line]
    assert uses and all(PINNED_USES.match(line) for line in uses)
    used = {PINNED_USES.match(line).group(1) for line in uses}  # type: ignore[union-attr]
    assert used == {pin.action for pin in PINS}
    upload = next(s for s in jobs["sarif"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "security.sarif"


def test_config_diff_of_new_and_changed_files() -> None:
    """A new file diffs from /dev/null; an unchanged one has an empty diff."""
    assert config_diff(None, "a\n", "renovate.json").startswith(
        "--- /dev/null\n+++ b/renovate.json"
    )
    assert config_diff("a\n", "a\n", "x.yml") == ""
    changed = config_diff("a\nb\n", "a\nc\n", "x.yml")
    assert "-b\n" in changed and "+c\n" in changed


def test_plan_shows_the_diff_before_writing(tmp_path: Path) -> None:
    """On a copy of the example: diffs first, nothing written; after writing, no changes."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    before = (repo / ".github" / "dependabot.yml").read_text()
    changes = {c.path: c for c in plan_config_files(repo)}
    assert set(changes) == {
        ".github/dependabot.yml",
        "renovate.json",
        ".github/workflows/security-audit.yml",
    }
    dependabot = changes[".github/dependabot.yml"]
    assert dependabot.existing == before
    assert '-      interval: "weekly"' in dependabot.diff
    assert "+      interval: daily" in dependabot.diff
    assert "+    directory: /infrastructure/pulumi" in dependabot.diff
    assert changes["renovate.json"].diff.startswith("--- /dev/null")
    assert (repo / ".github" / "dependabot.yml").read_text() == before  # nothing written yet
    written = write_config_files(repo, list(changes.values()))
    assert sorted(written) == sorted(changes)
    assert all(not c.changed and c.diff == "" for c in plan_config_files(repo))
