"""The security corpus without scanners: discovery lists every candidate with the expected
status, each expected finding's ``name==version`` is among the pins handed to a scanner, and
every line no scanner checks is listed. The real scanners run in
``tests/adapters/test_scan_corpus.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestra_ops.adapters.scanners.discover import discover
from orchestra_ops.adapters.scanners.prepare import prepare

CORPUS = Path(__file__).resolve().parents[2] / "security_corpus"
REPOS = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())


def expected(name: str) -> dict[str, Any]:
    """The expectation file of one corpus repository."""
    data: dict[str, Any] = json.loads((CORPUS / name / "expected.json").read_text())
    return data


def test_the_corpus_has_every_shape() -> None:
    """Four repositories: a requirements/ folder, installs outside requirements files, JS
    workspaces, Python locks."""
    assert REPOS == ["js-workspaces", "pip-installs", "pip-requirements-folder", "python-locks"]


@pytest.mark.parametrize("name", REPOS)
def test_discovery_lists_every_candidate(name: str) -> None:
    """Exactly the expected candidates, each once; scanned ones are manifests; anything set
    aside by discovery is expected as not scanned and says why."""
    manifests, unsupported = discover(CORPUS / name)
    candidates = expected(name)["candidates"]
    found = [m.path for m in manifests] + [u.path for u in unsupported]
    assert sorted(found) == sorted(candidates)
    scanned = {path for path, status in candidates.items() if status != "not scanned"}
    assert scanned <= {m.path for m in manifests}
    assert all(candidates[u.path] == "not scanned" and u.reason for u in unsupported)


@pytest.mark.parametrize("name", REPOS)
def test_expected_findings_are_handed_to_a_scanner(name: str, tmp_path: Path) -> None:
    """Each expected vulnerable pin is an audited pin of its manifest; unchecked lines listed."""
    repo = CORPUS / name
    manifests, _ = discover(repo)
    prepared = {
        m.path: prepare(repo, m, (repo / m.path).read_text(), tmp_path / "inputs")
        for m in manifests
    }
    pins = {(path, p.name, p.version) for path, ready in prepared.items() for p in ready.packages}
    wanted = {(m, package, version) for m, package, version, _ in expected(name)["findings"]}
    assert wanted <= pins, wanted - pins
    unchecked = {(u.manifest, u.line, u.name) for p in prepared.values() for u in p.unchecked}
    assert unchecked == {tuple(u) for u in expected(name)["not_checked"]}
    assert all(p.inputs for p in prepared.values() if p.packages)
