"""Generated repos: random project trees, names, stacks and references.

Properties: the plan is deterministic (same input, same plan, whatever the dict
order), applying it to the snapshot keeps every file exactly once, and the result
validates (keys, programs, references).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import check_mapping, parse_mapping, render_mapping
from orchestra_ops.domain.reorg.model import MappingEntry, Move, ReorgMapping, join
from orchestra_ops.domain.reorg.plan import apply_to_snapshot, build_plan, render_markdown
from orchestra_ops.domain.reorg.validate import validate_layout
from tests.property_budget import examples

DIRS = ("", "a", "a/b", "a/b/c", "svc/x", "svc/y", "infra", "infra/old")
STACKS = ("dev", "prod", "stage")


@st.composite
def repos(draw: st.DrawFn) -> tuple[dict[str, str], ReorgMapping]:
    """A snapshot with 1-5 projects (root and nesting allowed) and a valid mapping for it."""
    dirs = draw(st.lists(st.sampled_from(DIRS), min_size=1, max_size=5, unique=True))
    names = [f"p{i}-{draw(st.sampled_from(['api', 'db', 'web']))}" for i in range(len(dirs))]
    snapshot: dict[str, str] = {"README.md": "# repo\n"}
    workflow = ["name: ci", "on:", "  push:", "    paths:"]
    workflow += [f"      - '{join(d, '**') if d else 'Pulumi.yaml'}'" for d in dirs]
    workflow += ["jobs:", "  preview:", "    steps:"]
    for index, (directory, name) in enumerate(zip(dirs, names, strict=True)):
        python = draw(st.booleans())
        stacks = draw(st.lists(st.sampled_from(STACKS), min_size=1, max_size=3, unique=True))
        runtime = "python" if python else "nodejs"
        snapshot[join(directory, "Pulumi.yaml")] = (
            f"# project {index}\nname: {name}\nruntime: {runtime}\ndescription: d{index}\n"
        )
        for stack in stacks:
            snapshot[join(directory, f"Pulumi.{stack}.yaml")] = (
                f"config:\n  # {stack}\n  {name}:size: '{index}'\n  aws:region: eu\n"
                f"  {name}:token:\n    secure: v1:AAAA{index}{stack}==\n"
            )
        others = draw(st.lists(st.sampled_from(names), max_size=2))
        if python:
            refs = "".join(
                f'r{i} = pulumi.StackReference("acme/{o}/dev")\n' for i, o in enumerate(others)
            )
            snapshot[join(directory, "__main__.py")] = f"import pulumi\n{refs}x = 1\n"
            snapshot[join(directory, "lib/util.py")] = "def f() -> int:\n    return 1\n"
        else:
            refs = "".join(f'new pulumi.StackReference("acme/{o}/dev");\n' for o in others)
            snapshot[join(directory, "index.ts")] = (
                f'import * as pulumi from "@pulumi/pulumi";\n{refs}'
            )
        workflow += [f"      - run: cd {directory or '.'} && pulumi preview", "        with:"]
        workflow += [f"          work-dir: {directory or '.'}"]
    snapshot[".github/workflows/ci.yml"] = "\n".join(workflow) + "\n"
    moved = draw(st.lists(st.sampled_from(range(len(dirs))), unique=True))
    entries = tuple(
        MappingEntry(dirs[i], f"deploy/t{n}", f"n{n}-{names[i]}", None, line=4 + n)
        for n, i in enumerate(moved)
    )
    return snapshot, ReorgMapping("acme", "reorg", entries)


@settings(max_examples=examples(40), deadline=None)
@given(repos())
def test_plan_is_deterministic(repo: tuple[dict[str, str], ReorgMapping]) -> None:
    snapshot, mapping = repo
    first = build_plan(snapshot, mapping)
    again = build_plan(dict(reversed(list(snapshot.items()))), mapping)
    assert first == again
    assert render_markdown(first) == render_markdown(again)


@settings(max_examples=examples(40), deadline=None)
@given(repos())
def test_applied_plan_validates_and_keeps_every_file(
    repo: tuple[dict[str, str], ReorgMapping],
) -> None:
    snapshot, mapping = repo
    plan = build_plan(snapshot, mapping)
    after = apply_to_snapshot(snapshot, plan)
    assert len(after) == len(snapshot)
    moved = {op.src: op.dst for op in plan.operations if isinstance(op, Move)}
    for path in snapshot:
        assert moved.get(path, path) in after
    report = validate_layout(after, plan)
    assert report.ok, report.problems
    for entry in mapping.entries:
        assert f"name: {entry.name}\n" in after[join(entry.target, "Pulumi.yaml")]


@settings(max_examples=examples(30), deadline=None)
@given(repos())
def test_rendered_mapping_reads_back(repo: tuple[dict[str, str], ReorgMapping]) -> None:
    snapshot, mapping = repo
    parsed = parse_mapping(render_mapping(mapping))
    check_mapping(parsed, discover(snapshot))
    assert [(e.source, e.target, e.name) for e in parsed.entries] == [
        (e.source, e.target, e.name) for e in mapping.entries
    ]
