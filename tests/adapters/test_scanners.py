"""The scanner adapters driving the real pip-audit, safety and npm against the sandbox feeds.

One set of feeds is served for the module; each test resets faults and request logs.
Every runner gets its own work directory (HOME, caches) under ``tmp_path``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from orchestra_ops.adapters.scanners import run as scanners_run
from orchestra_ops.adapters.scanners._process import failure
from orchestra_ops.adapters.scanners.discover import discover
from orchestra_ops.adapters.scanners.normalise import from_npm_audit, from_pip_audit, from_safety
from orchestra_ops.adapters.scanners.npm_audit import NpmAuditRunner
from orchestra_ops.adapters.scanners.osv import OsvClient, enrich
from orchestra_ops.adapters.scanners.pip_audit import PipAuditRunner
from orchestra_ops.adapters.scanners.run import scan_repo
from orchestra_ops.adapters.scanners.safety import SafetyRunner
from orchestra_ops.adapters.schema_validation import validate_cyclonedx, validate_sarif
from orchestra_ops.domain.security.findings import Ecosystem
from orchestra_ops.domain.security.manifests import npm_lock_versions
from orchestra_ops.domain.security.policy import Policy, evaluate, parse_policy
from orchestra_ops.domain.security.sarif import sarif_log
from orchestra_ops.domain.security.sbom import cyclonedx_sbom
from orchestra_ops.domain.security.scan import Manifest, ManifestKind, lock_lines
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.errors import ConfigError, ScanError
from orchestra_ops.sandbox.feeds import Feeds, OsvFeed, ServedFeeds
from orchestra_ops.sandbox.feeds.npm_registry import BULK_PATH
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import ScanSettings
from tests.adapters.served_feeds import scan_settings

pytestmark = pytest.mark.slow  # each test runs pip-audit, safety or npm for real

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orchestra-main"
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
VULNERABLE = "requests==2.19.0\njinja2==2.10\nurllib3==1.24.1\nflask==2.3.3\n"
CLEAN = "flask==2.3.3\nrequests==2.32.3\n"

node = pytest.mark.node
needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="node and npm are not on PATH",
)


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Feeds, ServedFeeds, Path]]:
    """The three feeds, served once for the module, and the safety database directory."""
    feeds = Feeds()
    db = feeds.write_safety_db(tmp_path_factory.mktemp("safety") / "db")
    with feeds.serve() as served:
        yield feeds, served, db


def reset(feeds: Feeds) -> Feeds:
    """Remove every fault and empty every request log."""
    for plan, log in zip(feeds.plans.values(), feeds.logs.values(), strict=True):
        plan.clear()
        log.clear()
    return feeds


@pytest.fixture
def feeds(serving: tuple[Feeds, ServedFeeds, Path]) -> Feeds:
    """The feeds with no faults and empty logs."""
    return reset(serving[0])


@pytest.fixture
def settings(feeds: Feeds, serving: tuple[Feeds, ServedFeeds, Path]) -> ScanSettings:
    """Scan settings pointing every tool at the served feeds."""
    _, served, db = serving
    return scan_settings(served, db)


def requirements(folder: Path, text: str, name: str = "requirements.txt") -> Path:
    """Write a requirements file into ``folder`` (created) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_npm_project(folder: Path, packages: dict[str, dict[str, Any]]) -> Path:
    """package.json + a hand-written lockfile v3 (npm audit needs no node_modules)."""
    folder.mkdir(parents=True)
    direct = {
        n.split("node_modules/")[-1]: p["version"]
        for n, p in packages.items()
        if p.pop("direct", True)
    }
    manifest = {"name": "scan-fixture", "version": "1.0.0", "private": True}
    (folder / "package.json").write_text(json.dumps({**manifest, "dependencies": direct}))
    lock = {
        **manifest,
        "lockfileVersion": 3,
        "requires": True,
        "packages": {"": {**manifest, "dependencies": direct}, **packages},
    }
    path = folder / "package-lock.json"
    path.write_text(json.dumps(lock, indent=2))
    return path


# --- pip-audit -----------------------------------------------------------------------------


def test_pip_audit_clean_file_gives_an_empty_report(tmp_path: Path, settings: ScanSettings) -> None:
    """Exit 0: the report lists the dependencies with no vulnerabilities."""
    runner = PipAuditRunner.from_settings(settings, tmp_path / "work")
    report = runner.audit(requirements(tmp_path / "repo", CLEAN), "requirements.txt")
    assert [(d["name"], d["vulns"]) for d in report["dependencies"]] == [
        ("flask", []),
        ("requests", []),
    ]
    assert from_pip_audit(report, "requirements.txt", {}) == []


@pytest.fixture(scope="module")
def vulnerable_report(
    serving: tuple[Feeds, ServedFeeds, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], list[str]]:
    """pip-audit's report on VULNERABLE, and the OSV paths it asked for."""
    feeds, served, _ = serving
    base = tmp_path_factory.mktemp("pip-audit-vulnerable")
    reset(feeds)
    report = PipAuditRunner(served.osv.url, base / "work").audit(
        requirements(base / "repo", VULNERABLE), "r.txt"
    )
    return report, [e.path for e in feeds.osv.log.entries()]


def test_pip_audit_findings_are_read_from_the_report(
    vulnerable_report: tuple[dict[str, Any], list[str]],
) -> None:
    """Exit 1 with a report: findings with aliases, placed at their manifest lines."""
    report, paths = vulnerable_report
    findings = from_pip_audit(report, "r.txt", {"requests": 1, "jinja2": 2, "urllib3": 3})
    by_id = {f.primary_id: f for f in findings}
    assert set(by_id) == {"CVE-2018-18074", "CVE-2019-10906", "CVE-2019-11324", "CVE-2019-11236"}
    assert by_id["CVE-2018-18074"].line == 1
    assert by_id["CVE-2018-18074"].fixed_versions == ("2.20.0",)
    assert paths == ["/v1/query"] * 4


def test_a_finding_ignored_by_the_policy_does_not_fail_the_gate(
    vulnerable_report: tuple[dict[str, Any], list[str]], settings: ScanSettings
) -> None:
    """The policy ignores by any alias until its expiry; afterwards the finding counts again."""
    found = from_pip_audit(vulnerable_report[0], "r.txt", {})
    with OsvClient(settings.osv_api_url) as client:
        findings = [f for f in enrich(found, client) if f.package == "requests"]
    policy = parse_policy(
        "ignore:\n  - id: GHSA-x84v-xcm2-53pg\n    reason: proxy strips auth\n"
        "    expires: 2026-12-31\n"
    )
    now = evaluate(findings, policy, TODAY)
    assert now.passed and [f.package for f, _ in now.ignored] == ["requests"]
    later = evaluate(findings, policy, dt.date(2027, 1, 1))
    assert not later.passed and [f.package for f, _ in later.expired] == ["requests"]


def test_pip_audit_with_the_feed_down_is_a_scan_error(tmp_path: Path) -> None:
    """Exit 1 and no report: a failure naming the tool, manifest and exit code."""
    served = serve_in_thread(OsvFeed().app(), name="osv-down")
    served.stop()
    runner = PipAuditRunner(served.url, tmp_path / "work", timeout_s=60)
    with pytest.raises(ScanError) as caught:
        runner.audit(requirements(tmp_path / "repo", CLEAN), "api/requirements.txt")
    message = str(caught.value)
    assert message.startswith("pip-audit failed on api/requirements.txt (exit 1)")
    assert "no report was written" in message
    assert "Connection" in message  # the stderr tail says why


def test_pip_audit_http_500_is_a_scan_error(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """An OSV 500 is exit 1 without a report: never read as 'no findings'."""
    feeds.osv.plan.inject(r"/v1/query", method="POST", status=500, count=None)
    runner = PipAuditRunner.from_settings(settings, tmp_path / "work")
    with pytest.raises(ScanError, match=r"pip-audit failed on requirements.txt \(exit 1\)") as e:
        runner.audit(requirements(tmp_path / "repo", CLEAN))
    assert "ServiceError" in str(e.value)


def test_pip_audit_that_does_not_finish_in_time_is_a_scan_error(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """A feed that hangs: the run is killed at the timeout and says which bound it hit."""
    feeds.osv.plan.inject(r"/v1/query", method="POST", mode="hang", delay_s=4.0)
    runner = PipAuditRunner.from_settings(settings, tmp_path / "work", timeout_s=1.5)
    with pytest.raises(
        ScanError, match=r"pip-audit on requirements.txt did not finish within 1.5 s"
    ):
        runner.audit(requirements(tmp_path / "repo", "flask==2.3.3\n"))


def test_pip_audit_strict_fails_on_a_skipped_dependency(
    tmp_path: Path, settings: ScanSettings
) -> None:
    """A URL requirement cannot be audited; --strict turns the skip into a failure."""
    text = "flask==2.3.3\nmylib @ https://example.invalid/mylib-1.0.tar.gz\n"
    runner = PipAuditRunner.from_settings(settings, tmp_path / "work")
    with pytest.raises(ScanError, match="no report was written") as caught:
        runner.audit(requirements(tmp_path / "repo", text))
    assert "mylib" in str(caught.value)


def test_pip_audit_refuses_an_unpinned_file_naming_the_lines(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """Unpinned lines would need resolving against an index: refused before any run."""
    text = "flask==2.3.3\nrequests>=2.0\nurllib3\n"
    runner = PipAuditRunner.from_settings(settings, tmp_path / "work")
    with pytest.raises(ScanError, match="not fully pinned") as caught:
        runner.audit(requirements(tmp_path / "repo", text))
    assert "line 2: requests>=2.0" in str(caught.value)
    assert "line 3: urllib3" in str(caught.value)
    assert feeds.osv.log.entries() == []


def test_the_projects_own_hashed_lock_is_clean(tmp_path: Path, settings: ScanSettings) -> None:
    """requirements.lock (hashes, --no-deps --disable-pip) audits every pin, none skipped."""
    lock = ROOT / "requirements.lock"
    report = PipAuditRunner.from_settings(settings, tmp_path / "work").audit(lock)
    dependencies = report["dependencies"]
    pinned = [
        line for line in lock.read_text().splitlines() if "==" in line and not line.startswith(" ")
    ]
    assert len(dependencies) == len(pinned)
    assert all("skip_reason" not in d and d["vulns"] == [] for d in dependencies)


# --- safety --------------------------------------------------------------------------------
# safety takes ~3 s to start, so its four cases run concurrently, once for the module.


def _safety_case(runner: SafetyRunner, path: Path) -> dict[str, Any] | ScanError:
    try:
        return runner.audit(path)
    except ScanError as error:
        return error


@pytest.fixture(scope="module")
def safety_runs(
    serving: tuple[Feeds, ServedFeeds, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any] | ScanError]:
    """Report or error of: vulnerable, clean, wrong schema, auth down (a key set), no db dir."""
    feeds, served, db = serving
    base = tmp_path_factory.mktemp("safety-runs")
    old_db = base / "old-db"
    old_db.mkdir()
    for name in ("insecure.json", "insecure_full.json"):
        (old_db / name).write_text(json.dumps({"meta": {"schema_version": "1.0.0"}}))
    down = serve_in_thread(Feeds().safety_app(), name="safety-down")
    down.stop()
    stub = served.safety.url
    cases = {
        "vulnerable": (SafetyRunner(base / "w1", db_dir=db, auth_server_url=stub), VULNERABLE),
        "clean": (SafetyRunner(base / "w2", db_dir=db, auth_server_url=stub), CLEAN),
        "schema": (SafetyRunner(base / "w3", db_dir=old_db, auth_server_url=stub), VULNERABLE),
        "down": (SafetyRunner(base / "w4", db_dir=db, auth_server_url=down.url), CLEAN),
        "no-db": (SafetyRunner(base / "w5", db_dir=base / "missing", auth_server_url=stub), CLEAN),
    }
    reset(feeds)
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(len(cases)) as pool:
        patch.setenv("SAFETY_API_KEY", "canary-key-0000")
        futures = {
            name: pool.submit(_safety_case, runner, requirements(base / name, text))
            for name, (runner, text) in cases.items()
        }
        results = {name: future.result() for name, future in futures.items()}
    results["stub-paths"] = {"paths": sorted({e.path for e in feeds.safety.log.entries()})}
    return results


def test_safety_findings_exit_64(safety_runs: dict[str, Any]) -> None:
    """Exit 64 is findings: pyup ids with their CVEs and, where known, CVSS."""
    findings = {f.primary_id: f for f in from_safety(safety_runs["vulnerable"], "r.txt", {})}
    assert set(findings) == {"CVE-2018-18074", "CVE-2019-10906", "CVE-2019-11324", "CVE-2019-11236"}
    assert findings["CVE-2018-18074"].ids == {"36546", "CVE-2018-18074"}
    assert findings["CVE-2018-18074"].severity is Severity.HIGH
    assert findings["CVE-2019-11236"].severity is None


def test_safety_clean_exit_0(safety_runs: dict[str, Any]) -> None:
    """Exit 0: an empty vulnerabilities list; only the start-up handshake hit the stub."""
    assert safety_runs["clean"]["vulnerabilities"] == []
    assert safety_runs["stub-paths"]["paths"] == ["/.well-known/openid-configuration", "/jwks"]


def test_safety_missing_database_directory_is_exit_67(safety_runs: dict[str, Any]) -> None:
    """A missing --db directory is its own failure, saying what to check."""
    error = safety_runs["no-db"]
    assert isinstance(error, ScanError)
    assert "safety failed on requirements.txt (exit 67)" in str(error)
    assert "ORCHESTRA_SAFETY_DB_DIR" in str(error)


def test_safety_wrong_database_schema_is_exit_69(safety_runs: dict[str, Any]) -> None:
    """A database of another schema version is exit 69, named as such."""
    error = safety_runs["schema"]
    assert isinstance(error, ScanError)
    assert "safety failed on requirements.txt (exit 69)" in str(error)
    assert "the safety database has the wrong schema" in str(error)


def test_safety_with_its_auth_server_down_is_a_crash(
    safety_runs: dict[str, Any], tmp_path: Path
) -> None:
    """safety 3.8 exits 1 without its auth server; the API key never reaches the run."""
    error = safety_runs["down"]
    assert isinstance(error, ScanError)
    assert "(exit 1): safety crashed" in str(error)
    assert "canary-key-0000" not in str(error)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAFETY_API_KEY", "canary-key-0000")
        with_db = SafetyRunner(tmp_path, db_dir=tmp_path).environment(tmp_path / "home")
        without_db = SafetyRunner(tmp_path).environment(tmp_path / "home")
    assert "SAFETY_API_KEY" not in with_db  # with a key, safety would ignore --db
    assert without_db["SAFETY_API_KEY"] == "canary-key-0000"


# --- npm audit -----------------------------------------------------------------------------


@node
@needs_npm
def test_npm_audit_direct_and_transitive_findings(tmp_path: Path, settings: ScanSettings) -> None:
    """A vulnerable transitive dependency is a finding of that package, marked indirect."""
    lock = write_npm_project(
        tmp_path / "app",
        {
            "node_modules/lodash": {"version": "4.17.20"},
            "node_modules/minimist": {"version": "1.2.5", "direct": False},
            "node_modules/mkdirp": {"version": "0.5.5", "dependencies": {"minimist": "^1.2.5"}},
        },
    )
    report = NpmAuditRunner.from_settings(settings, tmp_path / "work").audit(lock, "app/lock")
    text = lock.read_text()
    versions = npm_lock_versions(text, "app/lock")
    findings = from_npm_audit(report, "app/lock", versions, lock_lines(text, versions))
    summary = {(f.package, f.primary_id, f.direct, f.severity) for f in findings}
    assert summary == {
        ("lodash", "GHSA-35jh-r3h4-6jhm", True, Severity.HIGH),
        ("lodash", "GHSA-29mw-wpgm-hmr9", True, Severity.MODERATE),
        ("minimist", "GHSA-xvch-5gv4-984h", False, Severity.CRITICAL),
    }
    assert report["vulnerabilities"]["minimist"]["isDirect"] is False
    minimist = next(f for f in findings if f.package == "minimist")
    assert (
        minimist.line is not None
        and '"node_modules/minimist"' in text.splitlines()[minimist.line - 1]
    )


@node
@needs_npm
def test_npm_audit_clean_lockfile(tmp_path: Path, settings: ScanSettings) -> None:
    """Exit 0 and an empty vulnerabilities map."""
    lock = write_npm_project(tmp_path / "app", {"node_modules/lodash": {"version": "4.17.21"}})
    report = NpmAuditRunner.from_settings(settings, tmp_path / "work").audit(lock)
    assert report["vulnerabilities"] == {}


@node
@needs_npm
def test_npm_audit_without_a_lockfile_is_enolock(tmp_path: Path, settings: ScanSettings) -> None:
    """No package-lock.json: npm's ENOLOCK error document, a scan error."""
    lock = write_npm_project(tmp_path / "app", {"node_modules/lodash": {"version": "4.17.21"}})
    lock.unlink()
    with pytest.raises(
        ScanError, match=r"npm audit failed on app/package-lock.json \(exit 1\): ENOLOCK"
    ):
        NpmAuditRunner.from_settings(settings, tmp_path / "work").audit(
            lock, "app/package-lock.json"
        )


@node
@needs_npm
def test_npm_audit_advisory_endpoint_500_is_a_scan_error(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """An error document without vulnerabilities is a failure, never a clean report."""
    feeds.npm.plan.inject(BULK_PATH, method="POST", status=500, count=None)
    lock = write_npm_project(tmp_path / "app", {"node_modules/lodash": {"version": "4.17.20"}})
    with pytest.raises(ScanError, match=r"npm audit failed on package-lock.json \(exit 1\)"):
        NpmAuditRunner.from_settings(settings, tmp_path / "work").audit(lock)


# --- OSV client ----------------------------------------------------------------------------


def test_osv_client_found_missing_and_failing(settings: ScanSettings, feeds: Feeds) -> None:
    """A record by alias; 404 is None; a 503 and a timeout are scan errors."""
    with OsvClient(settings.osv_api_url, timeout_s=0.5) as client:
        assert client.get_vuln("CVE-2018-18074")["id"] in {"PYSEC-2018-28", "GHSA-x84v-xcm2-53pg"}
        assert client.get_vuln("CVE-1999-0001") is None
        feeds.osv.plan.inject(r"/v1/vulns/.*", status=503)
        with pytest.raises(ScanError, match="answered HTTP 503"):
            client.get_vuln("GHSA-x84v-xcm2-53pg")
        feeds.osv.plan.inject(r"/v1/vulns/.*", mode="hang", delay_s=2.0)
        with pytest.raises(ScanError, match="timed out"):
            client.get_vuln("GHSA-x84v-xcm2-53pg")


# --- discovery and the whole scan ------------------------------------------------------------


def copy_example(tmp_path: Path) -> Path:
    """A private copy of examples/orchestra-main (tests may add files to it)."""
    repo = tmp_path / "orchestra-main"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    return repo


def test_discovery_names_unsupported_manifests(tmp_path: Path) -> None:
    """Requirements and every lock are found; the rest is listed by name, with why."""
    repo = copy_example(tmp_path)
    (repo / "admin-interface" / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    (repo / "tools").mkdir()
    (repo / "tools" / "pyproject.toml").write_text("[project]\nname = 'tools'\n")
    (repo / ".venv" / "lib").mkdir(parents=True)
    (repo / ".venv" / "lib" / "requirements.txt").write_text("flask==2.3.3\n")
    (repo / "dashboard" / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "dashboard" / "node_modules" / "left-pad" / "package-lock.json").write_text("{}")
    manifests, unsupported = discover(repo)
    assert manifests == [
        Manifest("admin-interface/package-lock.json", ManifestKind.NPM_LOCK),
        Manifest("admin-interface/pnpm-lock.yaml", ManifestKind.JS_LOCK),
        Manifest("dashboard/package-lock.json", ManifestKind.NPM_LOCK),
        Manifest("infrastructure/pulumi/requirements.txt", ManifestKind.REQUIREMENTS),
        Manifest("requirements.txt", ManifestKind.REQUIREMENTS),
    ]
    reasons = {u.path: u.reason for u in unsupported}
    assert set(reasons) == {
        ".github/workflows/ci.yml",
        "admin-interface/package.json",
        "dashboard/package.json",
        "deploy_lambda_labs.sh",
        "tools/pyproject.toml",
    }
    assert reasons[".github/workflows/ci.yml"] == (
        "installs from requirements.txt, each listed on its own"
    )
    assert reasons["deploy_lambda_labs.sh"] == (
        "installs from ~/requirements.txt (line 73), not in the repository"
    )  # the file the script copies to the instance first: its pins are scanned at the root
    assert (
        "scanned in admin-interface/package-lock.json, admin-interface/pnpm-lock.yaml"
        in (reasons["admin-interface/package.json"])
    )
    assert "no lock or pinned requirements file" in reasons["tools/pyproject.toml"]
    with pytest.raises(ConfigError, match="not a directory"):
        discover(repo / "requirements.txt")


@node
@needs_npm
def test_full_scan_of_the_example_repo(tmp_path: Path, settings: ScanSettings) -> None:
    """Every tool on every manifest: merged, deduplicated, enriched, the gate applied."""
    repo = copy_example(tmp_path)
    (repo / "dashboard" / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    result = scan_repo(repo, settings, tmp_path / "work", max_concurrency=4)
    assert result.failures == ()
    assert [u.path for u in result.unsupported] == [
        ".github/workflows/ci.yml",
        "admin-interface/package.json",
        "dashboard/package.json",
        "deploy_lambda_labs.sh",
    ]
    assert Manifest("dashboard/pnpm-lock.yaml", ManifestKind.JS_LOCK) in result.manifests
    requests = [f for f in result.findings if f.package == "requests"]
    assert len(requests) == 1  # pip-audit and safety merged on the CVE
    assert requests[0].manifest == "infrastructure/pulumi/requirements.txt"
    assert requests[0].tools == {"pip-audit", "safety"}
    assert {"PYSEC-2018-28", "CVE-2018-18074", "GHSA-x84v-xcm2-53pg", "36546"} <= requests[0].ids
    assert requests[0].severity is Severity.HIGH and requests[0].line == 11
    assert not [f for f in result.findings if f.ecosystem is Ecosystem.NPM]  # lockfiles are clean
    unknown = [f for f in result.findings if "PYSEC-2019-132" in f.ids]
    assert {f.manifest for f in unknown} == {
        "requirements.txt",
        "infrastructure/pulumi/requirements.txt",
    }
    assert all(f.severity is None for f in unknown)
    strict = result.gate(Policy(unknown_severity=Severity.HIGH), TODAY)
    lenient = result.gate(Policy(unknown_severity=Severity.LOW), TODAY)
    assert all(f in strict.verdict.failing for f in unknown)
    assert all(f in lenient.verdict.passing for f in unknown)
    assert not strict.passed
    assert validate_sarif(sarif_log(result.findings, "0.1.0")) == []
    bom = cyclonedx_sbom(result, subject="orchestra-main", tool_version="0.1.0", timestamp=NOW)
    assert validate_cyclonedx(bom) == []
    purls = {c.purl for c in result.components}
    assert "pkg:pypi/requests@2.19.0" in purls
    assert any(p.startswith("pkg:npm/next@") for p in purls)


def test_a_failing_tool_does_not_stop_the_others(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """pip-audit fails on one manifest (its one feed query answers 500) and still audits
    the other, whose ranged line is listed as not checked; the gate fails."""
    repo = tmp_path / "repo"
    requirements(repo / "api", "flask==2.3.3\n")
    requirements(repo / "tools", "requests==2.19.0\nclick>=8\n")
    feeds.osv.plan.inject("/v1/query", method="POST", status=500, count=1)
    result = scan_repo(repo, settings, tmp_path / "work", 1, tools={"pip-audit"})
    assert [(f.tool, f.manifest) for f in result.failures] == [
        ("pip-audit", "api/requirements.txt")
    ]
    assert [(u.manifest, u.line, u.name) for u in result.unchecked] == [
        ("tools/requirements.txt", 2, "click")
    ]
    assert [(f.manifest, f.primary_id) for f in result.findings] == [
        ("tools/requirements.txt", "CVE-2018-18074")
    ]
    lenient = Policy(threshold=Severity.CRITICAL)
    gate = result.gate(lenient, TODAY)
    assert gate.verdict.passed  # nothing critical...
    assert not gate.passed  # ...but a tool failed, so the gate fails


def test_files_pip_reads_in_other_encodings_are_scanned_where_they_are(
    tmp_path: Path, settings: ScanSettings
) -> None:
    """`pip freeze > requirements.txt` in Windows PowerShell 5 writes UTF-16 with a byte
    order mark and CRLF; a file it includes declares latin-1 in a coding comment. pip
    installs both; both are audited, their findings placed on their own lines."""
    repo = tmp_path / "repo"
    repo.mkdir()
    freeze = "-r legacy.txt\r\nrequests==2.19.0\r\n"
    (repo / "requirements.txt").write_bytes(codecs.BOM_UTF16_LE + freeze.encode("utf-16-le"))
    legacy = "# -*- coding: latin-1 -*-\n# Müller's pins\nurllib3==1.24.1\n"
    (repo / "legacy.txt").write_bytes(legacy.encode("latin-1"))
    result = scan_repo(repo, settings, tmp_path / "work", 1, tools={"pip-audit"})
    assert result.failures == () and result.unsupported == ()
    assert sorted(m.path for m in result.manifests) == ["legacy.txt", "requirements.txt"]
    placed = {(f.manifest, f.line, f.package) for f in result.findings}
    assert ("requirements.txt", 2, "requests") in placed
    assert ("legacy.txt", 3, "urllib3") in placed


def test_a_failing_severity_lookup_is_a_scan_error(
    tmp_path: Path, settings: ScanSettings, feeds: Feeds
) -> None:
    """OSV record lookups answering 503: findings kept, unenriched, and the gate fails."""
    repo = tmp_path / "repo"
    requirements(repo, "requests==2.19.0\n")
    feeds.osv.plan.inject(r"/v1/vulns/.*", method="GET", status=503, count=None)
    result = scan_repo(repo, settings, tmp_path / "work", tools={"pip-audit"})
    assert [(f.tool, f.manifest) for f in result.failures] == [("osv", "(severity lookup)")]
    assert "answered HTTP 503" in result.failures[0].message
    assert [f.severity for f in result.findings] == [None]
    assert not result.gate(Policy(unknown_severity=Severity.LOW), TODAY).passed


def test_error_output_never_carries_url_credentials() -> None:
    """A registry URL with user:password that a tool echoes is masked in the message."""
    output = "npm error request to https://ci:canary-token-1234@registry.example/x failed\n"
    message = str(failure("npm audit", "package-lock.json", 1, "the feed failed", output))
    assert "canary-token-1234" not in message
    assert "https://***@registry.example/x" in message


@pytest.mark.parametrize("files_per_run", [100, 2])
def test_one_safety_run_places_each_finding_in_its_own_manifest(
    tmp_path: Path, settings: ScanSettings, monkeypatch: pytest.MonkeyPatch, files_per_run: int
) -> None:
    """Three manifests, one safety process: a pin two manifests share is found in both, each
    at its own line; a newer pin of the same name elsewhere is clean; a name pinned twice
    in one file (two inputs) is found at both versions. In runs of at most two files
    (safety opens every file at once): three runs, the same findings."""
    monkeypatch.setattr(scanners_run, "SAFETY_FILES_PER_RUN", files_per_run)
    repo = tmp_path / "repo"
    requirements(repo / "api", "flask==2.3.3\nrequests==2.19.0\n")
    requirements(repo / "worker", "urllib3==1.24.1\nrequests==2.19.0\n")
    requirements(repo / "web", "requests==2.32.3\n")
    requirements(
        repo / "tools",
        'jinja2==2.10 ; python_version < "3.12"\njinja2==3.1.4 ; python_version >= "3.12"\n',
    )
    result = scan_repo(repo, settings, tmp_path / "work", tools={"safety"})
    assert result.failures == ()
    runs = len(list((tmp_path / "work" / "safety").glob("safety-*")))
    assert runs == (1 if files_per_run == 100 else 3)
    found = sorted((f.manifest, f.package, f.version, f.line) for f in result.findings)
    assert found == sorted(
        [
            ("api/requirements.txt", "requests", "2.19.0", 2),
            ("worker/requirements.txt", "requests", "2.19.0", 2),
            ("worker/requirements.txt", "urllib3", "1.24.1", 1),
            ("worker/requirements.txt", "urllib3", "1.24.1", 1),
            ("tools/requirements.txt", "jinja2", "2.10", 1),
        ]
    ), found
    assert {(m, t) for m, t in result.audited if t == "safety"} == {
        (f"{name}/requirements.txt", "safety") for name in ("api", "worker", "web", "tools")
    }


def test_a_failed_safety_run_fails_safety_on_every_manifest(
    tmp_path: Path, serving: tuple[Feeds, ServedFeeds, Path]
) -> None:
    """The one run over every manifest fails (no database directory): each manifest says
    so, none is reported clean, and pip-audit's results stand."""
    repo = tmp_path / "repo"
    requirements(repo / "api", "requests==2.19.0\n")
    requirements(repo / "web", "flask==2.3.3\n")
    missing = scan_settings(serving[1], tmp_path / "no-such-db")
    result = scan_repo(repo, missing, tmp_path / "work", tools={"safety", "pip-audit"})
    assert sorted((f.tool, f.manifest) for f in result.failures) == [
        ("safety", "api/requirements.txt"),
        ("safety", "web/requirements.txt"),
    ]
    assert all("database directory is missing" in f.message for f in result.failures)
    assert [f.primary_id for f in result.findings] == ["CVE-2018-18074"]  # pip-audit's
