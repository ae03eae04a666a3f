"""The real pip-audit, safety and npm audit over every security-corpus repository.

A repository passes when every expected finding is reported (at its manifest, package,
version and id), no scan fails, every candidate manifest is listed with its expected status
in the JSON report, and every candidate and unchecked line appears in the Markdown summary,
the SARIF log and the SBOM.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters.scanners.run import ToolScanner
from orchestra_ops.adapters.schema_validation import validate_cyclonedx, validate_sarif
from orchestra_ops.security_scan import run_scan
from orchestra_ops.settings import ScanSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("npm") is None, reason="node and npm are not on PATH"),
]

CORPUS = Path(__file__).resolve().parents[1] / "security_corpus"
REPOS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


@pytest.mark.parametrize("name", REPOS)
def test_a_correct_scan_of_the_corpus_repository(
    name: str, feed_settings: ScanSettings, tmp_path: Path
) -> None:
    """Every expected finding found; every candidate listed in every report."""
    repo = tmp_path / name
    shutil.copytree(CORPUS / name, repo)
    expected = json.loads((repo / "expected.json").read_text())
    outcome = run_scan(
        repo,
        ToolScanner(feed_settings),
        tmp_path / "out",
        max_concurrency=4,
        today=dt.date(2026, 12, 1),
    )
    report = json.loads(outcome.reports["json"].read_text())
    assert report["scan_errors"] == []
    found = {
        (f["manifest"], f["package"], f["version"], i) for f in report["findings"] for i in f["ids"]
    }
    missing = [f for f in expected["findings"] if tuple(f) not in found]
    assert missing == [], f"expected findings not reported: {missing}"
    for finding in report["findings"]:  # each finding points at the line pinning it
        text = (repo / finding["manifest"]).read_text().splitlines()
        pinned = text[finding["line"] - 1].lower().replace("_", "-")
        assert finding["package"] in pinned, (finding["manifest"], finding["line"], pinned)
    listed = {m["path"]: m["status"] for m in report["manifests"]}
    assert listed == expected["candidates"]
    not_checked = {
        (m["path"], u["line"], u["name"]) for m in report["manifests"] for u in m["not_checked"]
    }
    assert not_checked == {tuple(u) for u in expected["not_checked"]}
    sarif = json.loads(outcome.reports["sarif"].read_text())
    sbom = json.loads(outcome.reports["sbom"].read_text())
    assert validate_sarif(sarif) == [] and validate_cyclonedx(sbom) == []
    artifacts = {a["location"]["uri"] for a in sarif["runs"][0]["artifacts"]}
    coverage = [p["value"] for p in sbom["metadata"]["properties"]]
    markdown = outcome.reports["markdown"].read_text()
    for path in expected["candidates"]:
        assert path in artifacts
        assert any(value.startswith(f"{path}: ") for value in coverage)
        assert f"| {path} | {expected['candidates'][path]} |" in markdown
    for path, line, package in expected["not_checked"]:
        assert f"- {path}:{line}: {package}: " in markdown
    skipped = {p for p, status in expected["candidates"].items() if status == "not scanned"}
    assert {line.split(": ", 1)[0] for line in outcome.not_scanned} == skipped
    assert outcome.not_checked == len(expected["not_checked"])
    steps = [line for line in markdown.splitlines() if "no fixed version known" in line]
    assert steps == []  # every finding of the corpus has a known fix
