"""Every track over every corpus repository, against tests/corpus_matrix.yaml (fast).

The three corpora (security, frontend, reorg) are each checked by their own track's tests
against their own expectation files; this module runs the other two tracks over them,
through the code the flows plan with: the scan's discovery and pin extraction, the
frontend detection and planner, the reorganisation's discovery and planner (the default
mapping, as the flow plans a repository without reorg.yaml). The real scanners run over
the same repositories in tests/adapters/test_scan_corpus_matrix.py.

Where the code does not do what the matrix says a correct run does, the case is marked
xfail(strict=True) with the defect as its reason (see KNOWN_DEFECTS).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestra_ops.adapters.app_source import find_workspace, read_app_texts, read_code_texts
from orchestra_ops.adapters.scanners.discover import SKIPPED_DIRS, discover
from orchestra_ops.adapters.scanners.prepare import prepare
from orchestra_ops.domain.frontend.migration import plan_migration
from orchestra_ops.domain.reorg.discover import discover as discover_projects
from orchestra_ops.domain.reorg.mapping import default_mapping
from orchestra_ops.domain.reorg.plan import build_plan, render_markdown
from orchestra_ops.errors import ConfigError

TESTS = Path(__file__).resolve().parents[1]
MATRIX_FILE = TESTS / "corpus_matrix.yaml"
#: Each corpus, the expectation file that marks one of its repositories, and its track.
CORPORA = {
    "security_corpus": ("expected.json", "security"),
    "frontend_corpus": ("expectation.json", "frontend"),
    "reorg_corpus": ("expect.yaml", "reorg"),
}
TRACKS = ("security", "frontend", "reorg")
EXPECTATION_FILES = frozenset(name for name, _ in CORPORA.values())
MATRIX: dict[str, dict[str, Any]] = YAML(typ="safe").load(MATRIX_FILE.read_text("utf-8"))

#: (repo, track) -> why the code's answer differs from the matrix's (none known today).
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def _cases(track: str, *, defect_key: str | None = None) -> list[Any]:
    """The repositories whose ``track`` is a cross case, each xfail where a defect is known."""
    cases = []
    for repo, tracks in sorted(MATRIX.items()):
        if "own" in tracks[track]:
            continue
        reason = KNOWN_DEFECTS.get((repo, defect_key or track))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        cases.append(pytest.param(repo, id=repo, marks=marks))
    return cases


def _root(repo: str) -> Path:
    return TESTS / repo


def _package_dirs(root: Path) -> list[str]:
    """Every directory a person could name as the app: those with a package.json, and ."""
    found = {"."}
    for path in root.rglob("package.json"):
        if not SKIPPED_DIRS & set(path.relative_to(root).parts):
            found.add(path.parent.relative_to(root).as_posix())
    return sorted(found)


def _snapshot(root: Path) -> dict[str, str]:
    """The repository's files as the reorganisation reads them (expectation files aside)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", errors="surrogateescape")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in EXPECTATION_FILES and "__pycache__" not in p.parts
    }


def test_the_matrix_has_every_repository_and_every_track() -> None:
    """12 repositories, each corpus's own track pointing at its expectation file, the
    two other tracks written here."""
    repos = sorted(
        f"{corpus}/{p.parent.name}"
        for corpus, (name, _) in CORPORA.items()
        for p in (TESTS / corpus).glob(f"*/{name}")
    )
    assert len(repos) >= 12
    assert sorted(MATRIX) == repos
    for repo, tracks in MATRIX.items():
        corpus, name = repo.split("/")
        expectation, own_track = CORPORA[corpus]
        assert sorted(tracks) == sorted(TRACKS), repo
        assert tracks[own_track] == {"own": f"tests/{corpus}/{name}/{expectation}"}, repo
        for track in TRACKS:
            if track != own_track:
                assert "own" not in tracks[track] and tracks[track]["outcome"], (repo, track)


@pytest.mark.parametrize("repo", _cases("security"))
def test_security_discovery_lists_the_expected_candidates(repo: str, tmp_path: Path) -> None:
    """Exactly the expected candidates, scanned or not; a not-scanned one says why; each
    scanned manifest hands the expected pins to a scanner and lists its unchecked lines."""
    expected = MATRIX[repo]["security"]
    root = _root(repo)
    manifests, unsupported = discover(root)
    listed = {m.path: None for m in manifests} | {u.path: u.reason for u in unsupported}
    assert sorted(listed) == sorted(expected["candidates"])
    for path, (status, *reason) in expected["candidates"].items():
        if status == "not scanned":
            assert path in {u.path for u in unsupported}, f"{path} is scanned"
            assert reason[0] in (listed[path] or ""), (path, listed[path])
        else:
            assert path in {m.path for m in manifests}, f"{path} is not scanned"
    prepared = [
        prepare(root, m, (root / m.path).read_text("utf-8"), tmp_path / "inputs") for m in manifests
    ]
    pins = {(p.manifest.path, k.name, k.version) for p in prepared for k in p.packages}
    for path in (m.path for m in manifests if expected["candidates"][m.path][0] != "not scanned"):
        assert any(pin[0] == path for pin in pins), f"{path}: no pin handed to a scanner"
    wanted = {(m, package, version) for m, package, version, _ in expected["findings"]}
    assert wanted <= pins, wanted - pins
    unchecked = {(u.manifest, u.line, u.name) for p in prepared for u in p.unchecked}
    assert unchecked == {tuple(u) for u in expected["not_checked"]}


def _frontend_cases() -> list[Any]:
    return [
        pytest.param(repo, directory, id=f"{repo}:{directory}")
        for repo, tracks in sorted(MATRIX.items())
        if "own" not in tracks["frontend"]
        for directory in tracks["frontend"]["refused"]
    ]


@pytest.mark.parametrize("repo", _cases("frontend"))
def test_frontend_every_candidate_directory_has_an_expectation(repo: str) -> None:
    """Every directory holding a package.json (and the root) is either an app the run
    migrates or a refusal the matrix states."""
    expected = MATRIX[repo]["frontend"]
    assert expected["apps"] == [] and "no frontend app" in expected["outcome"]
    assert _package_dirs(_root(repo)) == sorted(expected["refused"])


@pytest.mark.parametrize(("repo", "directory"), _frontend_cases())
def test_frontend_refuses_each_non_app_saying_why(repo: str, directory: str) -> None:
    """The planner, as the flow's detect and plan tasks call it, refuses with the reason."""
    root = _root(repo)
    app = root / directory
    piece = MATRIX[repo]["frontend"]["refused"][directory]
    with pytest.raises(ConfigError, match=re.escape(piece)):
        plan_migration(
            directory,
            read_app_texts(app),
            "https://backend.example.com",
            [],
            {},
            code=read_code_texts(app),
            workspace=find_workspace(root, app),
        )


@pytest.mark.parametrize("repo", _cases("reorg"))
def test_reorg_finds_the_expected_projects_and_plans_no_change(repo: str) -> None:
    """No Pulumi project is found, and the default mapping's plan changes nothing."""
    snapshot = _snapshot(_root(repo))
    discovery = discover_projects(snapshot)
    expected = MATRIX[repo]["reorg"]
    assert [p.directory for p in discovery.projects] == expected["projects"]
    plan = build_plan(snapshot, default_mapping(discovery), {})
    assert plan.operations == () and plan.renames == ()
    assert plan.manual == () and plan.refused == ()


@pytest.mark.parametrize("repo", _cases("reorg", defect_key="reorg-says"))
def test_reorg_plan_says_there_is_nothing_to_reorganise(repo: str) -> None:
    """The plan the flow publishes (its Markdown artifact) says there is no project."""
    snapshot = _snapshot(_root(repo))
    discovery = discover_projects(snapshot)
    plan = build_plan(snapshot, default_mapping(discovery), {})
    markdown = render_markdown(plan, discovery)
    assert MATRIX[repo]["reorg"]["says"].lower() in markdown.lower(), markdown
