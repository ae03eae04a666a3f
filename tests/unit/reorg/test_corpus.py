"""The reorganisation plan over each corpus repository, against its expect.yaml.

Pure planning (no git): every expected line rewrite, manual check, refusal and move must
be in the plan, the planned tree must validate, and each file listed under
``validation_catches``, put back as it was, must make validation fail.
"""

from __future__ import annotations

import pytest

from orchestra_ops.domain.reorg.model import Move, Plan
from orchestra_ops.domain.reorg.plan import apply_to_snapshot, build_plan, render_markdown
from orchestra_ops.domain.reorg.validate import validate_layout
from tests.reorg_corpus.corpus import CorpusRepo, load, names


def _plan(repo: CorpusRepo) -> Plan:
    return build_plan(repo.snapshot, repo.mapping, repo.links)


def test_the_corpus_has_its_repositories() -> None:
    assert names() == ["go-yaml-gitlab", "root-yaml-github", "shell-chains"]


@pytest.mark.parametrize("name", names())
def test_every_expected_line_is_rewritten(name: str) -> None:
    repo = load(name)
    after = apply_to_snapshot(repo.snapshot, _plan(repo))
    wrong = []
    for path, lines in repo.expect["lines"].items():
        assert path in after, f"{name}: {path} is not in the planned tree"
        text = after[path].splitlines()
        for number, expected in lines.items():
            got = text[number - 1] if number <= len(text) else "<no such line>"
            if got != expected:
                wrong.append(f"{path}:{number}: expected {expected!r}, planned {got!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", names())
def test_every_unfollowable_reference_is_listed_and_nothing_else(name: str) -> None:
    repo = load(name)
    plan = _plan(repo)
    expected = {(path, line) for path, line, _ in repo.expect["manual"]}
    for path, line, piece in repo.expect["manual"]:
        found = [c for c in plan.manual if (c.path, c.line) == (path, line) and piece in c.text]
        assert found, f"{name}: {path}:{line} ({piece}) is not listed: {plan.manual}"
    extra = [str(c) for c in plan.manual if (c.path, c.line) not in expected]
    assert not extra, f"{name}: listed without being expected: {extra}"
    markdown = render_markdown(plan)
    assert all(str(check) in markdown for check in plan.manual)


@pytest.mark.parametrize("name", names())
def test_moves_and_refusals(name: str) -> None:
    repo = load(name)
    plan = _plan(repo)
    moves = {op.src: op.dst for op in plan.operations if isinstance(op, Move)}
    for src, dst in repo.expect["moved"].items():
        assert moves.get(src) == dst, f"{name}: {src} should move to {dst}"
    for path in repo.expect.get("stays", []):
        assert path not in moves, f"{name}: {path} should stay"
    for directory in repo.expect["refused"]:
        assert any(r.startswith(f"{directory} stays where it is") for r in plan.refused)
        assert not [s for s in moves if s.startswith(directory + "/")]
        assert directory not in {e.source for e in plan.mapping.entries}
    assert len(plan.refused) == len(repo.expect["refused"])
    markdown = render_markdown(plan)
    assert all(reason in markdown for reason in plan.refused)


@pytest.mark.parametrize("name", names())
def test_planned_tree_validates_and_an_old_reference_put_back_does_not(name: str) -> None:
    repo = load(name)
    plan = _plan(repo)
    after = apply_to_snapshot(repo.snapshot, plan)
    report = validate_layout(after, plan)
    assert report.ok, [str(p) for p in report.problems]
    origin = {op.dst: op.src for op in plan.operations if isinstance(op, Move)}
    for path in repo.expect["validation_catches"]:
        broken = {**after, path: repo.snapshot[origin.get(path, path)]}
        problems = validate_layout(broken, plan).problems
        assert any(p.path == path for p in problems), f"{name}: {path} put back passes"
