"""Defects an outside review found in the generated security workflow and bot config:
a token in the product URL echoed in errors, YAML injection through file names, audit
jobs that fail on every run (ranged requirements, pnpm/yarn projects), a pip entry for
a root with no Python manifest, existing bot configs replaced wholesale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.update_config import plan_config_files, write_config_files
from orchestra_ops.domain.doctor import check_settings
from orchestra_ops.domain.security.workflow import ProductSource, security_audit_workflow
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import GeneratedFilesSettings, load_settings

SECRET = "ghp_SECRETSECRETSECRET0123"
COMMIT = "c" * 40
PINNED = "requests==2.32.3\nidna==3.7\n"


def settings(**values: Any) -> GeneratedFilesSettings:
    """Settings from values only (no environment file)."""
    return GeneratedFilesSettings(_env_file=None, **values)


def load(text: str) -> Any:
    """YAML text as plain data."""
    return YAML(typ="safe").load(text)


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A repository of these files (path -> text)."""
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def change(plan: Any, path: str) -> Any:
    """The planned change of ``path``."""
    return next(c for c in plan.changes if c.path == path)


# --- 1. a token in the product git URL -------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"https://x-access-token:{SECRET}@github.com/acme/orchestra-ops.git",
        f"https://{SECRET}@github.com/acme/orchestra-ops.git",
        f"https://github.com/acme/orchestra-ops.git?access_token={SECRET}",
        f"https://github.com/acme/orchestra-ops.git#{SECRET}",
    ],
)
def test_a_credential_in_the_product_url_is_refused_and_never_echoed(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error names the variable, not the value; loading settings does not fail on it
    (and does not show it); doctor reports it as a problem, also without the value."""
    repo = make_repo(tmp_path / "repo", {"requirements.txt": PINNED})
    with pytest.raises(ConfigError) as caught:
        plan_config_files(
            repo, settings(workflow_product_git_url=url, workflow_product_commit=COMMIT)
        )
    message = str(caught.value)
    assert SECRET not in message and SECRET not in repr(caught.value)
    assert "ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL" in message
    with pytest.raises(ValueError) as direct:
        ProductSource(url, COMMIT)
    assert SECRET not in str(direct.value)

    monkeypatch.setenv("ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL", url)
    monkeypatch.setenv("ORCHESTRA_WORKFLOW_PRODUCT_COMMIT", COMMIT)
    loaded = load_settings(None)
    assert SECRET not in repr(loaded.generated)
    problems = check_settings(loaded, None).problems
    assert any("ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL" in p for p in problems), problems
    assert not any(SECRET in p for p in problems)


def test_doctor_reports_a_half_set_product_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the URL set: doctor names the missing commit variable."""
    monkeypatch.setenv("ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL", "https://github.com/a/b.git")
    monkeypatch.delenv("ORCHESTRA_WORKFLOW_PRODUCT_COMMIT", raising=False)
    problems = check_settings(load_settings(None), None).problems
    assert any("ORCHESTRA_WORKFLOW_PRODUCT_COMMIT is not set" in p for p in problems)


# --- 3. file names that would break or inject YAML ---------------------------------------

INJECTION = "requirements/a']\n    permissions: write-all # x.txt"


def test_a_quote_in_a_manifest_name_is_quoted_not_a_parser_crash(tmp_path: Path) -> None:
    """`o'brien.txt` used to end the single-quoted scalar early (a raw ParserError)."""
    repo = make_repo(tmp_path / "repo", {"requirements/o'brien.txt": PINNED})
    plan = plan_config_files(repo, settings())
    document = load(change(plan, ".github/workflows/security-audit.yml").generated)
    assert document["jobs"]["pip-audit"]["strategy"]["matrix"]["manifest"] == [
        "requirements/o'brien.txt"
    ]


def test_a_newline_in_a_manifest_name_cannot_inject_a_permission(tmp_path: Path) -> None:
    """The name that gave a job `permissions: write-all` is refused, naming the file."""
    text = security_audit_workflow(["requirements.txt"], [], left_out=[])
    assert "write-all" not in text
    with pytest.raises(ValueError, match=r"control character") as caught:
        security_audit_workflow([INJECTION], [])
    assert json.dumps(INJECTION) in str(caught.value)
    repo = make_repo(tmp_path / "repo", {INJECTION: PINNED})
    with pytest.raises(ConfigError, match=r"security-audit.yml: .*requirements/a'\]\\n"):
        plan_config_files(repo, settings())


def test_a_newline_in_a_left_out_name_cannot_inject_either() -> None:
    """Names that go into the comment are quoted and checked the same way."""
    with pytest.raises(ValueError, match="control character"):
        security_audit_workflow([], [], left_out=[("a\njobs: {}", "ranged")])
    text = security_audit_workflow([], [], left_out=[("o'brien/reqs.txt", "ranged")])
    assert '  #   "o\'brien/reqs.txt": ranged' in text


# --- 6, 7, 8. audit jobs only where they can run; bot entries only where manifests are ------


def test_audit_jobs_take_only_what_they_can_read(tmp_path: Path) -> None:
    """Ranged requirements and pnpm/yarn projects are named in a comment, not in a matrix."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "services/api/requirements.txt": PINNED,
            "services/api/requirements-dev.txt": "-r requirements.txt\nflask>=2.0\n",
            "services/worker/requirements.txt": "-r ../api/requirements-dev.txt\n",
            "web/package-lock.json": '{"lockfileVersion": 3, "packages": {}}\n',
            "web/package.json": '{"name": "web"}\n',
            "docs-site/pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "docs-site/package.json": '{"name": "docs"}\n',
            "shop/yarn.lock": "# yarn lockfile v1\n",
            "shop/package.json": '{"name": "shop"}\n',
        },
    )
    plan = plan_config_files(repo, settings())
    workflow = change(plan, ".github/workflows/security-audit.yml").generated
    jobs = load(workflow)["jobs"]
    assert jobs["pip-audit"]["strategy"]["matrix"]["manifest"] == ["services/api/requirements.txt"]
    assert jobs["npm-audit"]["strategy"]["matrix"]["directory"] == ["web"]
    assert '"services/api/requirements-dev.txt": not fully pinned (flask)' in workflow
    assert '"services/worker/requirements.txt": includes services/api/requirements-dev.txt' in (
        workflow
    )
    assert '"docs-site/pnpm-lock.yaml": npm audit reads only' in workflow
    assert '"shop/yarn.lock": npm audit reads only' in workflow
    assert any("not in the workflow's audit jobs" in n for n in plan.notes)
    # Dependabot still updates every project of each ecosystem, and only those.
    updates = load(change(plan, ".github/dependabot.yml").generated)["updates"]
    entries = {(u["package-ecosystem"], u["directory"]) for u in updates}
    assert entries == {
        ("pip", "/services/api"),
        ("pip", "/services/worker"),
        ("npm", "/web"),
        ("npm", "/docs-site"),
        ("npm", "/shop"),
    }


def test_no_pip_entry_for_a_root_without_python_manifests(tmp_path: Path) -> None:
    """A JavaScript-only repository gets no pip entry (it used to get one for `/`)."""
    repo = make_repo(
        tmp_path / "repo",
        {"app/package-lock.json": '{"lockfileVersion": 3, "packages": {}}\n'},
    )
    plan = plan_config_files(repo, settings())
    updates = load(change(plan, ".github/dependabot.yml").generated)["updates"]
    assert [(u["package-ecosystem"], u["directory"]) for u in updates] == [("npm", "/app")]
    assert (
        "pip-audit"
        not in load(change(plan, ".github/workflows/security-audit.yml").generated)["jobs"]
    )


# --- 5. an existing bot configuration is merged, not replaced ----------------------------

EXISTING_DEPENDABOT = """\
# Maintained by the platform team.
version: 2
registries:
  internal-pypi:
    type: python-index
    url: https://pypi.internal.example/simple
updates:
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: daily
  - package-ecosystem: docker  # base images
    directory: /deploy
    schedule:
      interval: weekly
  - package-ecosystem: pip
    directory: /
    registries: [internal-pypi]
    ignore:
      - dependency-name: boto3
    schedule:
      interval: daily
"""


def test_an_existing_dependabot_file_keeps_what_the_product_does_not_manage(
    tmp_path: Path,
) -> None:
    """github-actions and docker entries, registries, ignore rules and comments stay; the
    pip entry gets the product's schedule; the npm project is added; idempotent."""
    repo = make_repo(
        tmp_path / "repo",
        {
            ".github/dependabot.yml": EXISTING_DEPENDABOT,
            "requirements.txt": PINNED,
            "web/package-lock.json": '{"lockfileVersion": 3, "packages": {}}\n',
        },
    )
    plan = plan_config_files(repo, settings())
    merged = change(plan, ".github/dependabot.yml").generated
    document = load(merged)
    by_key = {(u["package-ecosystem"], u["directory"]): u for u in document["updates"]}
    assert set(by_key) == {
        ("github-actions", "/"),
        ("docker", "/deploy"),
        ("pip", "/"),
        ("npm", "/web"),
    }
    assert by_key[("github-actions", "/")]["schedule"] == {"interval": "daily"}
    pip = by_key[("pip", "/")]
    assert pip["ignore"] == [{"dependency-name": "boto3"}]
    assert pip["registries"] == ["internal-pypi"]
    assert pip["schedule"]["day"] == "monday" and pip["schedule"]["interval"] == "weekly"
    assert document["registries"]["internal-pypi"]["type"] == "python-index"
    assert "# Maintained by the platform team." in merged and "# base images" in merged
    assert any("2 existing update entries" in n for n in plan.notes)
    write_config_files(repo, plan.changes)
    assert all(not c.changed for c in plan_config_files(repo, settings()).changes)


EXISTING_RENOVATE = {
    "extends": ["config:base", ":semanticCommits"],
    "labels": ["dependencies"],
    "reviewers": ["team:platform"],
    "packageRules": [
        {"matchManagers": ["dockerfile"], "enabled": False},
        {"matchDepTypes": ["devDependencies"], "automerge": False},
    ],
}


def test_an_existing_renovate_file_keeps_its_rules_and_reviewers(tmp_path: Path) -> None:
    """Its packageRules (its devDependencies rule wins), labels, reviewers and presets stay;
    config:base becomes config:recommended; the product's schedule is set."""
    repo = make_repo(
        tmp_path / "repo",
        {"renovate.json": json.dumps(EXISTING_RENOVATE), "requirements.txt": PINNED},
    )
    plan = plan_config_files(repo, settings(update_assignees="alice,team:ops"))
    document = json.loads(change(plan, "renovate.json").generated)
    assert document["extends"] == [
        "config:recommended",
        ":semanticCommits",
        "security:openssf-scorecard",
    ]
    assert document["labels"] == ["dependencies"]
    assert document["reviewers"] == ["team:platform"]
    assert document["assignees"] == ["alice"]  # GitHub cannot assign a team
    rules = document["packageRules"]
    assert rules[:2] == EXISTING_RENOVATE["packageRules"]
    assert [r.get("groupName") for r in rules[2:]] == ["type definitions"]
    assert document["schedule"] == ["before 6am on monday"]
    assert any("left out: team:ops" in n for n in plan.notes)


def test_a_renovate_json5_file_is_not_overwritten(tmp_path: Path) -> None:
    """JSON5 with comments cannot be merged faithfully: the proposal goes next to it."""
    original = '// ours\n{\n  extends: ["config:recommended"], // trailing\n}\n'
    repo = make_repo(tmp_path / "repo", {"renovate.json5": original, "requirements.txt": PINNED})
    plan = plan_config_files(repo, settings())
    paths = {c.path for c in plan.changes}
    assert "renovate.json5" not in paths
    assert "renovate.json5.orchestra-ops-proposal" in paths
    assert any("renovate.json5.orchestra-ops-proposal to merge by hand" in n for n in plan.notes)
    write_config_files(repo, plan.changes)
    assert (repo / "renovate.json5").read_text() == original
    assert not list(repo.rglob("*.orchestra-tmp"))  # written atomically, nothing left half-done


def test_an_existing_file_the_merge_would_make_invalid_is_left_alone(tmp_path: Path) -> None:
    """A key the schema refuses stays the owner's call: the proposal goes next to it."""
    original = (
        "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
        "    schedule: {interval: daily}\n    frobnicate: true\n"
    )
    repo = make_repo(
        tmp_path / "repo", {".github/dependabot.yml": original, "requirements.txt": PINNED}
    )
    plan = plan_config_files(repo, settings())
    paths = {c.path for c in plan.changes}
    assert ".github/dependabot.yml" not in paths
    assert ".github/dependabot.yml.orchestra-ops-proposal" in paths
    assert any("merged fails the dependabot schema" in n for n in plan.notes)


def test_a_single_string_extends_is_read_as_one_preset(tmp_path: Path) -> None:
    """`"extends": "config:base"` is one preset (not eleven one-letter ones)."""
    repo = make_repo(
        tmp_path / "repo",
        {"renovate.json": '{"extends": "config:base"}', "requirements.txt": PINNED},
    )
    plan = plan_config_files(repo, settings())
    document = json.loads(change(plan, "renovate.json").generated)
    assert document["extends"] == ["config:recommended", "security:openssf-scorecard"]


def test_a_bad_generation_setting_fails_only_where_it_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ORCHESTRA_UPDATE_REVIEWERS with a bad name: every other setting still loads (the
    scan and the other flows run); reading the generated-files settings names it, and
    doctor reports it as a problem."""
    monkeypatch.setenv("ORCHESTRA_UPDATE_REVIEWERS", "alice, not a login")
    loaded = load_settings(None)
    assert loaded.scan.osv_api_url
    with pytest.raises(ConfigError, match="ORCHESTRA_UPDATE_REVIEWERS"):
        _ = loaded.generated
    problems = check_settings(loaded, None).problems
    assert any("ORCHESTRA_UPDATE_REVIEWERS" in p for p in problems), problems
