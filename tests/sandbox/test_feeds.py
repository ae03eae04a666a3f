"""The advisory feeds, driven by the real pip-audit, safety and npm over loopback HTTP.

Every tool run gets its own HOME and caches under ``tmp_path``; ``SAFETY_API_KEY`` is
removed (with a key, safety ignores ``--db``) and the ``SAFETY_*`` URLs point at the stub,
so no run can reach the internet or the developer's configuration.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestra_ops.adapters.scanners.safety import safety_url_env
from orchestra_ops.sandbox.admin import admin_app
from orchestra_ops.sandbox.feeds import Feeds, NpmRegistryFeed, ServedFeeds
from orchestra_ops.sandbox.feeds.npm_registry import BULK_PATH
from orchestra_ops.sandbox.feeds.safety import build_safety_db, write_safety_db
from orchestra_ops.sandbox.server import serve_in_thread
from tests import loopback

BIN = Path(sys.executable).parent
TOOL_TIMEOUT_S = 120

VULNERABLE_PYTHON = "requests==2.19.0\njinja2==2.10\nurllib3==1.24.1\npyyaml==5.3\nflask==2.3.3\n"
CLEAN_PYTHON = "flask==2.3.3\n"
PYSEC_IDS = {"PYSEC-2018-28", "PYSEC-2019-217", "PYSEC-2019-133", "PYSEC-2019-132", "PYSEC-2020-96"}
PYUP_TO_CVE = {
    "36546": "CVE-2018-18074",
    "36862": "CVE-2019-10906",
    "37055": "CVE-2019-11324",
    "37071": "CVE-2019-11236",
    "38100": "CVE-2020-1747",
}

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="node and npm are not on PATH",
)


@pytest.fixture(scope="module")
def serving() -> Iterator[tuple[Feeds, ServedFeeds]]:
    """One set of feeds for the module (starting and stopping servers is the slow part)."""
    feeds = Feeds()
    with feeds.serve() as served:
        yield feeds, served


@pytest.fixture
def feeds(serving: tuple[Feeds, ServedFeeds]) -> Feeds:
    """The served feeds, with no faults and empty request logs."""
    feeds, _ = serving
    for plan, log in zip(feeds.plans.values(), feeds.logs.values(), strict=True):
        plan.clear()
        log.clear()
    return feeds


@pytest.fixture
def served(feeds: Feeds, serving: tuple[Feeds, ServedFeeds]) -> ServedFeeds:
    """The feeds' loopback URLs (asking for it also resets faults and logs)."""
    return serving[1]


@pytest.fixture
def tool_env(tmp_path: Path, served: ServedFeeds) -> dict[str, str]:
    """A clean environment: private HOME and caches, no safety key, safety URLs at the stub."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SAFETY_", "PIP_AUDIT_", "npm_config_", "NPM_CONFIG_"))
    }
    home = tmp_path / "home"
    home.mkdir()
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        PIP_AUDIT_PROGRESS_SPINNER="off",
        PYTHONWARNINGS="ignore",
        NO_COLOR="1",
    )
    env.update(safety_url_env(served.safety.url))
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
    )


def pip_audit(tmp_path: Path, env: dict[str, str], osv_url: str, requirements: str) -> Any:
    (tmp_path / "reqs.txt").write_text(requirements)
    return run(
        [
            str(BIN / "pip-audit"),
            *("-r", "reqs.txt", "--no-deps", "--disable-pip", "--strict"),
            *("-s", "osv", "--osv-url", f"{osv_url}/v1/query"),
            *("-f", "json", "-o", "out.json", "--cache-dir", str(tmp_path / "pa-cache")),
        ],
        tmp_path,
        env,
    )


def safety_check(tmp_path: Path, env: dict[str, str], db: Path, requirements: str) -> Any:
    (tmp_path / "reqs.txt").write_text(requirements)
    args = ["check", "-r", "reqs.txt", "--db", str(db), "--save-json", "out.json"]
    return run([str(BIN / "safety"), *args], tmp_path, env)


# --- pip-audit ---------------------------------------------------------------------------


@pytest.mark.slow  # runs the real tool
def test_pip_audit_reports_the_fixture_vulnerabilities(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds, feeds: Feeds
) -> None:
    """Findings: exit 1 with a JSON report, PYSEC ids first, GHSA and CVE as aliases."""
    result = pip_audit(tmp_path, tool_env, served.osv.url, VULNERABLE_PYTHON)
    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    vulns = {v["id"]: (d["name"], v) for d in report["dependencies"] for v in d.get("vulns", [])}
    assert set(vulns) == PYSEC_IDS
    name, requests_vuln = vulns["PYSEC-2018-28"]
    assert name == "requests"
    assert set(requests_vuln["aliases"]) == {"CVE-2018-18074", "GHSA-x84v-xcm2-53pg"}
    assert requests_vuln["fix_versions"] == ["2.20.0"]
    assert vulns["PYSEC-2019-132"][1]["aliases"] == ["CVE-2019-11236"]
    # One POST /v1/query per pinned requirement, nothing else.
    assert [(e.method, e.path) for e in feeds.osv.log.entries()] == [("POST", "/v1/query")] * 5


@pytest.mark.slow  # runs the real tool
def test_pip_audit_passes_a_clean_requirements_file(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds
) -> None:
    """No advisory matches: exit 0, and the JSON report is still written."""
    result = pip_audit(tmp_path, tool_env, served.osv.url, CLEAN_PYTHON)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["dependencies"] == [{"name": "flask", "version": "2.3.3", "vulns": []}]


@pytest.mark.slow  # runs the real tool
def test_pip_audit_fails_without_a_report_when_osv_answers_500(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds, feeds: Feeds
) -> None:
    """A feed failure is exit 1 too, but with no report file: distinguishable from findings."""
    feeds.osv.plan.inject(r"/v1/query", method="POST", status=500, count=None)
    result = pip_audit(tmp_path, tool_env, served.osv.url, VULNERABLE_PYTHON)
    assert result.returncode == 1
    assert not (tmp_path / "out.json").exists()
    assert "ServiceError" in result.stderr
    assert [e.status for e in feeds.osv.log.entries()] == [500]


# --- safety ------------------------------------------------------------------------------


@pytest.mark.slow  # runs the real tool
def test_safety_check_reports_the_fixture_vulnerabilities(
    tmp_path: Path, tool_env: dict[str, str], feeds: Feeds
) -> None:
    """Findings: exit 64; pyup ids with CVEs; CVSS v3 only where a GHSA record gives one."""
    db = write_safety_db(tmp_path / "safety-db")
    result = safety_check(tmp_path, tool_env, db, VULNERABLE_PYTHON)
    assert result.returncode == 64, result.stdout + result.stderr
    report = json.loads((tmp_path / "out.json").read_text())
    found = {v["vulnerability_id"]: v for v in report["vulnerabilities"]}
    assert {k: v["CVE"] for k, v in found.items()} == PYUP_TO_CVE
    assert found["38100"]["severity"]["cvssv3"]["base_severity"] == "CRITICAL"
    assert found["38100"]["fixed_versions"] == ["5.3.1"]
    assert found["37071"]["severity"] is None  # the PYSEC record without a GHSA twin
    assert report["report_meta"]["local_database_path"] == str(db)
    # The stub saw only the start-up handshake: no telemetry, no database download.
    seen = {(e.method, e.path) for e in feeds.safety.log.entries()}
    assert seen == {
        ("HEAD", "/.well-known/openid-configuration"),
        ("GET", "/.well-known/openid-configuration"),
        ("GET", "/jwks"),
    }


@pytest.mark.slow  # runs the real tool
def test_safety_check_passes_a_clean_requirements_file(
    tmp_path: Path, tool_env: dict[str, str]
) -> None:
    """No advisory matches: exit 0."""
    db = write_safety_db(tmp_path / "safety-db")
    result = safety_check(tmp_path, tool_env, db, CLEAN_PYTHON)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "out.json").read_text())["vulnerabilities"] == []


@pytest.mark.slow  # runs the real tool
def test_safety_check_exits_67_when_the_database_directory_is_missing(
    tmp_path: Path, tool_env: dict[str, str]
) -> None:
    """A missing --db directory is its own exit code, not a pass and not 'findings'."""
    result = safety_check(tmp_path, tool_env, tmp_path / "no-such-db", VULNERABLE_PYTHON)
    assert result.returncode == 67, result.stdout + result.stderr


def test_safety_db_specs_match_between_the_two_files() -> None:
    """safety joins the two files on the exact spec string, so every one must appear in both."""
    insecure, full = build_safety_db()
    assert insecure["meta"] == {"schema_version": "2.0.0"}
    for name, entries in full["vulnerable_packages"].items():
        for entry in entries:
            assert set(entry["specs"]) <= set(insecure["vulnerable_packages"][name])
            assert isinstance(entry["closest_secure_versions"], list)
    assert insecure["vulnerable_packages"]["pyyaml"] == [">=5.1,<5.3.1"]


# --- npm audit ---------------------------------------------------------------------------


def write_npm_project(folder: Path, versions: dict[str, str]) -> Path:
    """A package.json and a hand-written lockfile v3; npm audit needs no node_modules."""
    folder.mkdir()
    manifest = {"name": "feeds-fixture", "version": "1.0.0", "private": True}
    (folder / "package.json").write_text(json.dumps({**manifest, "dependencies": versions}))
    packages: dict[str, Any] = {"": {**manifest, "dependencies": versions}}
    packages.update({f"node_modules/{n}": {"version": v} for n, v in versions.items()})
    lock = {**manifest, "lockfileVersion": 3, "requires": True, "packages": packages}
    (folder / "package-lock.json").write_text(json.dumps(lock))
    return folder


def npm_audit(tmp_path: Path, env: dict[str, str], registry: str, versions: dict[str, str]) -> Any:
    project = write_npm_project(tmp_path / "project", versions)
    args = ["npm", "audit", "--json", "--registry", f"{registry}/"]
    result = run([*args, "--cache", str(tmp_path / "npm-cache")], project, env)
    return result, json.loads(result.stdout)


@pytest.mark.node
@needs_npm
@pytest.mark.slow  # runs the real tool
def test_npm_audit_reports_lodash_high_and_minimist_critical(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds, feeds: Feeds
) -> None:
    """Findings: exit 1; severities from the advisories; packuments give the fix."""
    versions = {"lodash": "4.17.20", "minimist": "1.2.5"}
    result, report = npm_audit(tmp_path, tool_env, served.npm.url, versions)
    assert result.returncode == 1, result.stderr
    vulns = report["vulnerabilities"]
    assert {n: v["severity"] for n, v in vulns.items()} == {
        "lodash": "high",
        "minimist": "critical",
    }
    lodash_via = {v["url"].rsplit("/", 1)[-1]: v["severity"] for v in vulns["lodash"]["via"]}
    assert lodash_via == {"GHSA-35jh-r3h4-6jhm": "high", "GHSA-29mw-wpgm-hmr9": "moderate"}
    assert vulns["minimist"]["via"][0]["cvss"]["score"] == 9.8
    assert vulns["lodash"]["fixAvailable"]["version"] == "4.17.21"
    assert report["metadata"]["vulnerabilities"]["total"] == 2
    paths = {(e.method, e.path) for e in feeds.npm.log.entries()}
    assert {("POST", BULK_PATH), ("GET", "/lodash"), ("GET", "/minimist")} <= paths


@pytest.mark.node
@needs_npm
@pytest.mark.slow  # runs the real tool
def test_npm_audit_passes_a_clean_lockfile(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds
) -> None:
    """No advisory matches: exit 0 and no vulnerabilities."""
    versions = {"lodash": "4.17.21", "minimist": "1.2.8"}
    result, report = npm_audit(tmp_path, tool_env, served.npm.url, versions)
    assert result.returncode == 0, result.stderr
    assert report["vulnerabilities"] == {}


@pytest.mark.node
@needs_npm
@pytest.mark.slow  # runs the real tool
def test_npm_audit_reports_an_error_when_the_advisory_endpoint_answers_500(
    tmp_path: Path, tool_env: dict[str, str], served: ServedFeeds, feeds: Feeds
) -> None:
    """A feed failure is exit 1 with an error document, never a vulnerability report."""
    feeds.npm.plan.inject(BULK_PATH, method="POST", status=500, count=None)
    versions = {"lodash": "4.17.20", "minimist": "1.2.5"}
    result, report = npm_audit(tmp_path, tool_env, served.npm.url, versions)
    assert result.returncode == 1
    assert "vulnerabilities" not in report
    assert "error" in report or "message" in report
    assert report["statusCode"] == 500


# --- the feeds' own HTTP contracts ---------------------------------------------------------


def test_osv_looks_records_up_by_id_or_alias(served: ServedFeeds) -> None:
    """GET /v1/vulns/{id}: GHSA records carry the severity; aliases resolve; else 404."""
    ghsa = loopback.get(f"{served.osv.url}/v1/vulns/GHSA-6757-jp84-gxfx").json()
    assert ghsa["severity"] == [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    ]
    assert ghsa["database_specific"]["severity"] == "CRITICAL"
    by_alias = loopback.get(f"{served.osv.url}/v1/vulns/CVE-2019-11236").json()
    assert by_alias["id"] == "PYSEC-2019-132"
    assert "severity" not in by_alias and "database_specific" not in by_alias
    missing = loopback.get(f"{served.osv.url}/v1/vulns/CVE-1999-0001")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Bug not found."


def test_osv_query_and_querybatch(served: ServedFeeds) -> None:
    """Queries match names canonically and versions by range; bad queries are a 400."""
    query = {"package": {"name": "Jinja2", "ecosystem": "PyPI"}, "version": "2.10"}
    found = loopback.post(f"{served.osv.url}/v1/query", json=query).json()
    assert [v["id"] for v in found["vulns"]] == ["PYSEC-2019-217", "GHSA-462w-v97r-4m45"]
    clean = {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.10.1"}
    assert loopback.post(f"{served.osv.url}/v1/query", json=clean).json() == {}
    batch = loopback.post(
        f"{served.osv.url}/v1/querybatch", json={"queries": [query, clean]}
    ).json()
    assert [[v["id"] for v in r.get("vulns", [])] for r in batch["results"]] == [
        ["PYSEC-2019-217", "GHSA-462w-v97r-4m45"],
        [],
    ]
    bad = loopback.post(f"{served.osv.url}/v1/query", json={"commit": "abc"})
    assert bad.status_code == 400


def test_npm_bulk_accepts_gzipped_and_plain_bodies(served: ServedFeeds) -> None:
    """npm gzips the bulk body; plain JSON works the same; garbage is a 400."""
    body = json.dumps({"minimist": ["1.2.5"], "lodash": ["4.17.21"]}).encode()
    url = f"{served.npm.url}{BULK_PATH}"
    zipped = loopback.post(url, content=gzip.compress(body), headers={"content-encoding": "gzip"})
    plain = loopback.post(url, content=body, headers={"content-type": "application/json"})
    assert zipped.status_code == plain.status_code == 200
    assert zipped.json() == plain.json()
    advisory = plain.json()["minimist"][0]
    assert advisory["vulnerable_versions"] == ">=1.0.0 <1.2.6 || <0.2.4"
    assert advisory["severity"] == "critical"
    assert advisory["cvss"]["vectorString"].startswith("CVSS:3.1/")
    assert "lodash" not in plain.json()
    assert loopback.post(url, content=b"\x1f\x8bnot gzip").status_code == 400


def test_npm_packuments_plain_and_scoped() -> None:
    """GET /name and GET /@scope%2fname serve packuments; unknown packages are a 404."""
    scoped_record = {
        "id": "GHSA-test-scop-ed00",
        "affected": [
            {
                "package": {"name": "@acme/widget", "ecosystem": "npm"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}],
            }
        ],
    }
    tool_ids = {
        "npm_advisory_ids": {},
        "npm_versions": {
            "@acme/widget": {"versions": ["1.0.0", "2.0.0"], "latest": "2.0.0"},
            "lodash": {"versions": ["4.17.21"], "latest": "4.17.21"},
        },
    }
    feed = NpmRegistryFeed(records=[scoped_record], tool_ids=tool_ids)
    with serve_in_thread(feed.app()) as registry:
        scoped = loopback.get(f"{registry.url}/@acme%2fwidget")
        assert scoped.status_code == 200
        document = scoped.json()
        assert document["name"] == "@acme/widget"
        assert document["dist-tags"] == {"latest": "2.0.0"}
        assert document["versions"]["1.0.0"]["dist"]["tarball"] == (
            f"{registry.url}/@acme/widget/-/widget-1.0.0.tgz"
        )
        assert loopback.get(f"{registry.url}/lodash").json()["versions"].keys() == {"4.17.21"}
        missing = loopback.get(f"{registry.url}/left-pad")
        assert (missing.status_code, missing.json()) == (404, {"error": "Not found"})


def test_safety_stub_answers_the_start_up_handshake_only(served: ServedFeeds) -> None:
    """HEAD and GET of the OpenID configuration, the empty JWKS, and 404 for anything else."""
    config_url = f"{served.safety.url}/.well-known/openid-configuration"
    assert loopback.head(config_url).status_code == 200
    config = loopback.get(config_url).json()
    assert config["jwks_uri"] == f"{served.safety.url}/jwks"
    assert config["issuer"].startswith(served.safety.url)
    assert loopback.get(config["jwks_uri"]).json() == {"keys": []}
    assert loopback.get(f"{served.safety.url}/cli/api/v1/initialize").status_code == 404


def test_each_feed_has_its_own_faults_through_the_admin_app(
    feeds: Feeds, served: ServedFeeds
) -> None:
    """A fault set on one feed over the admin endpoint leaves the others answering."""
    with serve_in_thread(admin_app(feeds.administered())) as admin:
        created = loopback.post(
            f"{admin.url}/osv/faults", json={"path": "/v1/vulns/.*", "status": 503}
        )
        assert created.status_code == 201
        assert loopback.get(f"{served.osv.url}/v1/vulns/PYSEC-2018-28").status_code == 503
        assert loopback.get(f"{served.npm.url}/lodash").status_code == 200
        log = loopback.get(f"{admin.url}/osv/requests").json()
        assert [(e["path"], e["status"]) for e in log] == [("/v1/vulns/PYSEC-2018-28", 503)]
    assert set(feeds.plans) == set(feeds.logs) == {"osv", "safety", "npm"}
