"""The real scan (pip-audit, safety, npm audit on the sandbox feeds) over the 9 corpus
repositories written for the other tracks, against tests/corpus_matrix.yaml.

The security corpus itself is scanned by tests/adapters/test_scan_corpus.py. Here a
repository passes when the JSON report lists exactly the matrix's candidates with their
statuses, reports exactly its findings (none: the feeds know no package these repositories
pin) with no scan error, and the Markdown summary lists every candidate; a repository with
no candidate at all must say so. Each is copied without its expectation file first. Only
two of them hold a lock (npm-workspace, pnpm-workspace): the rest cost no tool process.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.scanners.run import ToolScanner
from orchestra_ops.security_scan import run_scan
from orchestra_ops.settings import ScanSettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.node,
    pytest.mark.skipif(shutil.which("npm") is None, reason="node and npm are not on PATH"),
]

TESTS = Path(__file__).resolve().parents[1]
MATRIX: dict[str, dict[str, Any]] = YAML(typ="safe").load(
    (TESTS / "corpus_matrix.yaml").read_text("utf-8")
)
EXPECTATION_FILES = ("expected.json", "expectation.json", "expect.yaml")
REPOS = [
    pytest.param(repo, id=repo)
    for repo, tracks in sorted(MATRIX.items())
    if "own" not in tracks["security"]
]


@pytest.mark.parametrize("repo", REPOS)
def test_a_correct_scan_of_a_repository_of_another_track(
    repo: str, feed_settings: ScanSettings, tmp_path: Path
) -> None:
    """The candidates, statuses and findings the matrix gives; none of them silently."""
    expected = MATRIX[repo]["security"]
    target = tmp_path / repo.split("/")[1]
    shutil.copytree(TESTS / repo, target, ignore=shutil.ignore_patterns(*EXPECTATION_FILES))
    outcome = run_scan(
        target,
        ToolScanner(feed_settings),
        tmp_path / "out",
        max_concurrency=4,
        today=dt.date(2026, 12, 1),
    )
    report = json.loads(outcome.reports["json"].read_text())
    assert report["scan_errors"] == []
    listed = {m["path"]: m["status"] for m in report["manifests"]}
    assert listed == {path: status for path, (status, *_) in expected["candidates"].items()}
    found = sorted(
        [f["manifest"], f["package"], f["version"], i] for f in report["findings"] for i in f["ids"]
    )
    assert found == sorted(expected["findings"])
    not_checked = sorted(
        [m["path"], u["line"], u["name"]] for m in report["manifests"] for u in m["not_checked"]
    )
    assert not_checked == sorted(expected["not_checked"])
    markdown = outcome.reports["markdown"].read_text()
    for path, (status, *_) in expected["candidates"].items():
        assert f"| {path} | {status} |" in markdown
    if "says" in expected:
        assert expected["says"] in markdown.lower(), markdown
