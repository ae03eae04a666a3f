"""reorg.yaml: defaults from the plan, parsing, and refusals with file and line."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import (
    check_mapping,
    default_mapping,
    parse_mapping,
    render_mapping,
)
from orchestra_ops.errors import ConfigError
from tests.unit.reorg.snapshots import fixture_snapshot

HEADER = "org: orchestra\nbranch: reorg\nprojects:\n"


def _check(text: str) -> None:
    check_mapping(parse_mapping(text), discover(fixture_snapshot()))


def test_defaults_follow_the_plan() -> None:
    mapping = default_mapping(discover(fixture_snapshot()))
    assert mapping.org == "orchestra"
    assert [(e.source, e.target, e.name) for e in mapping.entries] == [
        ("", "infrastructure/pulumi/frontend", "orchestra-frontend"),
        ("infrastructure/pulumi", "infrastructure/pulumi/backend", "orchestra-backend"),
        ("legacy/infra", "infrastructure/pulumi/shared", "orchestra-shared"),
        ("legacy/infra/dev", "infrastructure/pulumi/legacy/dev", "orchestra-legacy-dev"),
    ]


def test_rendered_defaults_parse_back_and_pass_the_checks() -> None:
    found = discover(fixture_snapshot())
    mapping = default_mapping(found)
    parsed = parse_mapping(render_mapping(mapping))
    check_mapping(parsed, found)
    assert [(e.source, e.target, e.name, e.description) for e in parsed.entries] == [
        (e.source, e.target, e.name, e.description) for e in mapping.entries
    ]
    assert parsed.entries[0].line == 6


def test_unknown_source_names_the_line() -> None:
    text = HEADER + "  - source: nowhere\n    target: x\n    name: x\n"
    with pytest.raises(ConfigError, match=r"reorg\.yaml:4: no Pulumi project in 'nowhere'"):
        _check(text)


def test_two_projects_to_one_place_is_refused() -> None:
    text = HEADER + (
        "  - source: legacy/infra\n    target: infrastructure/pulumi/shared\n    name: a\n"
        "  - source: legacy/infra/dev\n    target: infrastructure/pulumi/shared/\n    name: b\n"
    )
    with pytest.raises(ConfigError, match=r"reorg\.yaml:7: target 'infrastructure/pulumi/shared'"):
        _check(text)


def test_target_outside_the_repo_is_refused() -> None:
    text = HEADER + "  - source: legacy/infra\n    target: ../elsewhere\n    name: a\n"
    with pytest.raises(ConfigError, match=r"reorg\.yaml:5: '\.\./elsewhere' points outside"):
        parse_mapping(text)
    absolute = HEADER + "  - source: legacy/infra\n    target: /srv/infra\n    name: a\n"
    with pytest.raises(ConfigError, match=r"reorg\.yaml:5: '/srv/infra' is outside the repo"):
        parse_mapping(absolute)


def test_literal_step_4a_rename_is_refused_with_the_reason() -> None:
    text = (
        HEADER + "  - source: .\n    target: Pulumi.frontend.yaml\n    name: orchestra-frontend\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_mapping(text)
    message = str(caught.value)
    assert message.startswith("reorg.yaml:5: target 'Pulumi.frontend.yaml' refused")
    assert "configuration of the stack" in message
    assert "target: infrastructure/pulumi/frontend" in message


def test_target_naming_pulumi_yaml_means_its_directory() -> None:
    text = (
        HEADER
        + "  - source: .\n    target: infrastructure/pulumi/frontend/Pulumi.yaml\n    name: f\n"
    )
    assert parse_mapping(text).entries[0].target == "infrastructure/pulumi/frontend"


def test_duplicate_names_and_kept_project_names_are_refused() -> None:
    twice = HEADER + (
        "  - source: legacy/infra\n    target: a\n    name: same\n"
        "  - source: legacy/infra/dev\n    target: b\n    name: same\n"
    )
    with pytest.raises(ConfigError, match=r":7: name 'same' is also used by the entry at line 4"):
        _check(twice)
    clash = HEADER + "  - source: legacy/infra\n    target: a\n    name: lambda-infra\n"
    with pytest.raises(ConfigError, match=r":4: name 'lambda-infra' is already the project"):
        _check(clash)


def test_target_inside_a_project_that_stays_is_refused() -> None:
    text = (
        HEADER
        + "  - source: legacy/infra/dev\n    target: infrastructure/pulumi/dev\n    name: d\n"
    )
    with pytest.raises(ConfigError, match=r":4: 'infrastructure/pulumi/dev' would sit inside"):
        _check(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("- a\n", r"reorg\.yaml:1: the mapping must be a YAML mapping"),
        ("org: o\ncolour: red\n", r"reorg\.yaml:2: unknown key 'colour'"),
        ("projects: {a: b}\n", r"reorg\.yaml:1: projects must be a list"),
        (HEADER + "  - source: .\n", r"reorg\.yaml:4: project entry lacks name, target"),
        (HEADER + "  - source: .\n    target: t\n    name: 'bad name'\n", r":6: 'bad name' is not"),
        (HEADER + "  - source: .\n    target: t\n    name: n\n    size: 3\n", r":7: unknown key"),
        ("org: [unclosed\n", r"reorg\.yaml:2: not valid YAML"),
    ],
)
def test_shape_errors_name_the_line(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_mapping(text)
