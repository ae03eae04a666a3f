"""Generated Dependabot, Renovate and workflow files: valid against the vendored
SchemaStore schemas, carrying the roadmap's content, and shown as a diff before writing."""

from __future__ import annotations

import codecs
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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
from orchestra_ops.domain.security.workflow import (
    DEFAULT_SCAN_COMMAND,
    PIP_AUDIT_REQUIREMENTS,
    ProductSource,
    security_audit_workflow,
)
from orchestra_ops.settings import GeneratedFilesSettings

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orchestra-main"
PINNED_USES = re.compile(r"^\s*(?:- )?uses: ([\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def load(text: str) -> Any:
    """Parse YAML text to plain data (YAML 1.2, as ruamel reads it)."""
    return YAML(typ="safe").load(text)


def test_dependabot_config_is_valid_and_has_the_plan() -> None:
    """pip and npm weekly before the scan, the security group, found dirs; no assignee."""
    text = to_yaml(
        dependabot_config(["/", "/infrastructure/pulumi"], ["/admin-interface", "/dashboard"]),
        GENERATED_HEADER,
    )
    document = load(text)
    assert validate_config("dependabot", document) == []
    assert 'time: "05:00"' in text  # a bare 05:00 is 300 to a YAML 1.1 reader
    pip = {u["directory"]: u for u in document["updates"] if u["package-ecosystem"] == "pip"}
    assert set(pip) == {"/", "/infrastructure/pulumi"}
    root = pip["/"]
    assert root["schedule"] == {
        "interval": "weekly",
        "day": "monday",
        "time": "05:00",
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
    assert npm["/admin-interface"]["schedule"] == root["schedule"]
    assert npm["/admin-interface"]["commit-message"] == {"prefix": "deps-frontend"}
    assert npm["/admin-interface"]["open-pull-requests-limit"] == 10
    assert npm["/dashboard"]["commit-message"] == {"prefix": "deps-dashboard"}
    assert not any("assignees" in u or "reviewers" in u for u in document["updates"])


def test_dependabot_assignees_come_from_the_setting_users_only() -> None:
    """Teams cannot be assigned by Dependabot; users go on every update."""
    document = dependabot_config(["/"], ["/dashboard"], assignees=["alice", "team:platform"])
    assert validate_config("dependabot", document) == []
    assert [u["assignees"] for u in document["updates"]] == [["alice"], ["alice"]]


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
    assert document["timezone"] == "America/Los_Angeles"  # Renovate's default is UTC
    assert "reviewers" not in document and "assignees" not in document
    people = renovate_config(reviewers=["team:platform"], assignees=["alice"])
    assert validate_config("renovate", people) == []
    assert (people["reviewers"], people["assignees"]) == (["team:platform"], ["alice"])
    assert document["separateMinorPatch"] and document["separateMultipleMajor"]
    assert document["separateMajorMinor"]
    assert document["vulnerabilityAlerts"] == {"enabled": True, "schedule": ["at any time"]}
    assert document["osvVulnerabilityAlerts"] is True
    types, dev = document["packageRules"]
    assert types == {
        "matchPackageNames": ["/^@types//"],
        "groupName": "type definitions",
        "automerge": True,
        "minimumReleaseAge": "3 days",  # a release pulled within days is never merged
    }
    assert dev == {
        "matchDepTypes": ["devDependencies"],
        "automerge": True,
        "minimumReleaseAge": "3 days",
    }
    assert "config:base" not in str(document) and "matchPackagePatterns" not in str(document)
    by_people = renovate_config(automerge=False)  # ORCHESTRA_UPDATE_AUTOMERGE=false
    assert validate_config("renovate", by_people) == []
    assert "automerge" not in str(by_people)
    assert by_people["packageRules"] == [
        {"matchPackageNames": ["/^@types//"], "groupName": "type definitions"}
    ]


def test_security_workflow_is_valid_pinned_and_least_privilege() -> None:
    """Triggers of the plan; every action at a full SHA with its version; minimal permissions;
    pip-audit from hash-pinned requirements; the product from a git URL at a commit."""
    product = ProductSource("https://github.com/acme/orchestra-ops.git", "ab" * 20)
    text = security_audit_workflow(
        ["requirements.txt", "infrastructure/pulumi/requirements.txt"],
        ["admin-interface", "dashboard"],
        product=product,
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
    assert f"pip install --require-hashes -r {PIP_AUDIT_REQUIREMENTS}" in text
    assert "--no-deps --disable-pip" in text and "pip-audit --strict" in text
    assert "npm audit --audit-level=high" in text
    uses = [line for line in text.splitlines() if "uses:" in line]
    assert uses and all(PINNED_USES.match(line) for line in uses)
    used = {PINNED_USES.match(line).group(1) for line in uses}  # type: ignore[union-attr]
    assert used == {pin.action for pin in PINS} - {
        "actions/upload-artifact",
        "actions/download-artifact",
    }
    fetch = next(s for s in jobs["sarif"]["steps"] if "PRODUCT_COMMIT" in s.get("env", {}))
    assert fetch["env"]["PRODUCT_COMMIT"] == "ab" * 20
    assert fetch["env"]["PRODUCT_GIT_URL"] == product.git_url
    assert 'test "$(git -C "$PRODUCT_DIR" rev-parse HEAD)" = "$PRODUCT_COMMIT"' in fetch["run"]
    assert 'pip install --require-hashes -r "$PRODUCT_LOCK"' in text
    upload = next(s for s in jobs["sarif"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "security.sarif"


def test_without_a_pinned_product_source_there_is_no_sarif_job() -> None:
    """No git URL and commit: the job is left out and a comment says how to add it."""
    text = security_audit_workflow(["requirements.txt"], [])
    document = load(text)
    assert validate_config("github-workflows", document) == []
    assert set(document["jobs"]) == {"pip-audit", "dependency-review"}
    assert "ORCHESTRA_WORKFLOW_PRODUCT_COMMIT" in text and "orchestra-ops'" not in text
    assert "security-events" not in text


@pytest.mark.parametrize(
    ("url", "commit", "message"),
    [
        ("https://github.com/acme/orchestra-ops.git", "main", "full 40-hex"),
        ("https://github.com/acme/orchestra-ops.git", "AB" * 20, "full 40-hex"),
        ("git@github.com:acme/orchestra-ops.git", "ab" * 20, "https://"),
        ("https://github.com/acme/x.git; curl evil", "ab" * 20, "https://"),
    ],
)
def test_a_product_source_is_a_https_url_and_a_full_commit(
    url: str, commit: str, message: str
) -> None:
    """A branch or tag can move; a URL with shell text in it is refused."""
    with pytest.raises(ValueError, match=message):
        ProductSource(url, commit)


def test_config_diff_of_new_and_changed_files() -> None:
    """A new file diffs from /dev/null; an unchanged one has an empty diff."""
    assert config_diff(None, "a\n", "renovate.json").startswith(
        "--- /dev/null\n+++ b/renovate.json"
    )
    assert config_diff("a\n", "a\n", "x.yml") == ""
    changed = config_diff("a\nb\n", "a\nc\n", "x.yml")
    assert "-b\n" in changed and "+c\n" in changed


def test_plan_shows_the_diff_before_writing(tmp_path: Path) -> None:
    """On a copy of the example (it uses Dependabot): diffs first, nothing written; one
    bot only; after writing, no changes."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    before = (repo / ".github" / "dependabot.yml").read_text()
    plan = plan_config_files(repo, GeneratedFilesSettings(_env_file=None))
    changes = {c.path: c for c in plan.changes}
    assert set(changes) == {
        ".github/dependabot.yml",
        ".github/workflows/security-audit.yml",
        PIP_AUDIT_REQUIREMENTS,
    }
    dependabot = changes[".github/dependabot.yml"]
    assert dependabot.existing == before
    assert '-      interval: "weekly"' in dependabot.diff
    assert "+      interval: weekly" in dependabot.diff
    assert "+    directory: /infrastructure/pulumi" in dependabot.diff
    assert changes[PIP_AUDIT_REQUIREMENTS].diff.startswith("--- /dev/null")
    assert plan.notes[0].startswith("dependabot configured in .github/dependabot.yml")
    assert any("no SARIF job" in note for note in plan.notes)
    assert (repo / ".github" / "dependabot.yml").read_text() == before  # nothing written yet
    written = write_config_files(repo, plan.changes)
    assert sorted(written) == sorted(changes)
    again = plan_config_files(repo, GeneratedFilesSettings(_env_file=None))
    assert all(not c.changed and c.diff == "" for c in again.changes)


def test_the_sarif_jobs_scan_command_runs_from_the_products_checkout(tmp_path: Path) -> None:
    """The job runs DEFAULT_SCAN_COMMAND with only the product's checkout on PYTHONPATH and
    the target repo as the working directory: the module it names must start the scan."""
    argv = shlex.split(DEFAULT_SCAN_COMMAND)
    assert argv[0] == "python"
    command = [sys.executable, *argv[1 : argv.index("scan") + 1], "--help"]
    checkout = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONSAFEPATH": "1"}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "--sarif" in run.stdout


def test_a_utf_32_le_requirements_file_is_left_out_of_the_audit_job(tmp_path: Path) -> None:
    """pip-audit reads its mark as UTF-16's and fails: left out, with why; the UTF-16 one,
    which it reads, stays in."""
    repo = tmp_path / "repo"
    (repo / "a").mkdir(parents=True)
    (repo / "b").mkdir()
    pins = "requests==2.19.0\n"
    (repo / "a" / "requirements.txt").write_bytes(codecs.BOM_UTF32_LE + pins.encode("utf-32-le"))
    (repo / "b" / "requirements.txt").write_bytes(codecs.BOM_UTF16_LE + pins.encode("utf-16-le"))
    plan = plan_config_files(repo, GeneratedFilesSettings(_env_file=None))
    workflow = next(c for c in plan.changes if c.path.endswith("security-audit.yml"))
    matrix = load(workflow.generated)["jobs"]["pip-audit"]["strategy"]["matrix"]["manifest"]
    assert "b/requirements.txt" in matrix and "a/requirements.txt" not in matrix
    assert '"a/requirements.txt": UTF-32 LE, which pip-audit\'s parser reads as UTF-16' in (
        workflow.generated
    )


def test_a_diff_of_a_file_without_a_final_line_break_marks_it() -> None:
    """As git does: the last lines are not run together into one."""
    diff = config_diff("flask==0.12\nrequests==2.19.0", "flask==0.12\nrequests==2.20.0", "r.txt")
    assert diff.splitlines()[-4:] == [
        "-requests==2.19.0",
        "\\ No newline at end of file",
        "+requests==2.20.0",
        "\\ No newline at end of file",
    ]
