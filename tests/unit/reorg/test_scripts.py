"""The directory walk through scripts, Makefiles and CI files, case by case."""

from __future__ import annotations

from orchestra_ops.domain.reorg.discover import ci_files, discover, gitlab_includes
from orchestra_ops.domain.reorg.paths import Layout, resolve
from orchestra_ops.domain.reorg.scripts import follow

BEFORE = frozenset(
    {"infra/app/Pulumi.yaml", "infra/app/main.py", "db/schema.sql", "tools/lint.sh", "run.sh"}
)
LAYOUT = Layout(
    BEFORE,
    {"infra/app/Pulumi.yaml": "apps/app/Pulumi.yaml", "infra/app/main.py": "apps/app/main.py"},
    {"infra/app": "apps/app"},
)


def _lines(path: str, text: str) -> list[str]:
    return follow(path, text, LAYOUT).text.splitlines()


def test_resolve_stays_inside_the_repo() -> None:
    assert resolve("a/b", "../../c/./d/") == "c/d"
    assert resolve("a", "../..") is None


def test_a_subshell_cd_ends_with_its_line_and_popd_returns() -> None:
    lines = _lines("run.sh", "(cd infra/app && ls)\ncd db\npushd ../infra/app\npopd\ncd ../tools\n")
    assert lines == [
        "(cd apps/app && ls)",
        "cd db",
        "pushd ../apps/app",
        "popd",
        "cd ../tools",
    ]


def test_a_reference_still_right_after_the_moves_is_left_as_written() -> None:
    assert _lines("run.sh", "cd infra/app\ncd ../../db\n") == ["cd apps/app", "cd ../../db"]


def test_a_directory_made_at_run_time_is_followed_not_rewritten() -> None:
    text = "mkdir -p build\ncd build\ncd ../infra/app\n"
    assert _lines("run.sh", text) == ["mkdir -p build", "cd build", "cd ../apps/app"]


def test_a_computed_cd_is_listed_and_so_is_every_relative_cd_after_it() -> None:
    followed = follow("run.sh", 'cd "$(git_root)/x"\ncd infra/app\ncd -\n', LAYOUT)
    assert [(c.line, c.text) for c in followed.manual] == [
        (1, '"$(git_root)/x"'),
        (2, "infra/app"),
    ]
    assert followed.text.splitlines()[1] == "cd infra/app"  # not guessed at


def test_each_makefile_recipe_line_starts_in_the_makefile_directory() -> None:
    text = "a:\n\tcd db\n\tcd infra/app && \\\n\t  cd ../../tools\n\t$(MAKE) -C infra/app\n"
    assert _lines("Makefile", text) == [
        "a:",
        "\tcd db",
        "\tcd apps/app && \\",
        "\t  cd ../../tools",
        "\t$(MAKE) -C apps/app",
    ]


def test_a_script_inside_a_moved_project_reaims_paths_that_leave_it() -> None:
    layout = Layout(
        BEFORE | {"infra/app/deploy.sh"},
        {"infra/app/deploy.sh": "apps/web/app/deploy.sh"},
        {"infra/app": "apps/web/app"},
    )
    text = 'cd "$(dirname "$0")"\nsh ../../tools/lint.sh\ncd ../../db\nls ./main.py\n'
    assert follow("infra/app/deploy.sh", text, layout).text.splitlines() == [
        'cd "$(dirname "$0")"',
        "sh ../../../tools/lint.sh",
        "cd ../../../db",
        "ls ./main.py",
    ]


def test_ci_steps_start_at_the_root_and_ci_variables_name_it() -> None:
    text = (
        "job:\n  script:\n    - cd infra/app\n    - cd $CI_PROJECT_DIR/infra/app\n"
        "next:\n  script:\n    - ls infra/app/main.py\n"
    )
    assert _lines(".gitlab-ci.yml", text)[2:] == [
        "    - cd apps/app",
        "    - cd $CI_PROJECT_DIR/apps/app",
        "next:",
        "  script:",
        "    - ls apps/app/main.py",
    ]


def test_gitlab_local_includes_are_ci_files_transitively() -> None:
    snapshot = {
        ".gitlab-ci.yml": "include:\n  - local: /ci/a.yml\n  - remote: https://x/y.yml\n",
        "ci/a.yml": "include: 'ci/b.yml'\n",
        "ci/b.yml": "job:\n  script: [ls]\n",
        "ci/unused.yml": "",
    }
    assert gitlab_includes(snapshot[".gitlab-ci.yml"]) == ["ci/a.yml"]
    assert ci_files(snapshot) == [".gitlab-ci.yml", "ci/a.yml", "ci/b.yml"]


def test_projects_are_found_by_content_and_go_and_yaml_references_too() -> None:
    snapshot = {
        "docs/Pulumi.yaml": "# an example shown in the docs\nexample: true\n",
        "net/Pulumi.yml": "name: net\nruntime: go\n",
        "net/main.go": 'r, _ := pulumi.NewStackReference(ctx, "o/dns/prod", nil)\n',
        "dns/Pulumi.yaml": (
            "name: dns\nruntime: yaml\nresources:\n  ref:\n"
            "    type: pulumi:pulumi:StackReference\n    properties:\n      name: o/net/prod\n"
        ),
    }
    found = discover(snapshot)
    assert [p.directory for p in found.projects] == ["dns", "net"]
    assert {(r.path, r.line, r.target) for r in found.stack_refs} == {
        ("net/main.go", 1, "o/dns/prod"),
        ("dns/Pulumi.yaml", 7, "o/net/prod"),
    }


def test_a_word_keeps_its_trailing_slash_and_is_untouched_when_nothing_it_names_moves() -> None:
    text = "grep -r db/ tools/\nls infra/app/ infra/app/*.py\n"
    assert _lines("tools/lint.sh", text) == [
        "grep -r db/ tools/",
        "ls apps/app/ apps/app/*.py",
    ]
