"""One dependency-update bot per repository, chosen by setting or by what is there;
people from settings; schedules before the weekly scan; the SARIF job's pinned source."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from orchestra_ops.adapters.update_config import plan_config_files, write_config_files
from orchestra_ops.domain.security.update_config import (
    UpdateBot,
    bot_notes,
    choose_bot,
    dependabot_config,
    renovate_config,
)
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import GeneratedFilesSettings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "orchestra-main"
WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def settings(**values: Any) -> GeneratedFilesSettings:
    """Settings from values only (no environment file)."""
    return GeneratedFilesSettings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("setting", "present", "bot", "path", "others"),
    [
        ("auto", [], UpdateBot.DEPENDABOT, ".github/dependabot.yml", ()),
        ("auto", [".github/dependabot.yaml"], UpdateBot.DEPENDABOT, ".github/dependabot.yaml", ()),
        ("auto", [".renovaterc.json"], UpdateBot.RENOVATE, ".renovaterc.json", ()),
        ("auto", [".github/renovate.json"], UpdateBot.RENOVATE, ".github/renovate.json", ()),
        (
            "auto",
            ["renovate.json", ".github/dependabot.yml"],
            UpdateBot.DEPENDABOT,
            ".github/dependabot.yml",
            ("renovate.json",),
        ),
        ("renovate", [], UpdateBot.RENOVATE, "renovate.json", ()),
        (
            "renovate",
            [".github/dependabot.yml"],
            UpdateBot.RENOVATE,
            "renovate.json",
            (".github/dependabot.yml",),
        ),
        (
            "dependabot",
            [".renovaterc"],
            UpdateBot.DEPENDABOT,
            ".github/dependabot.yml",
            (".renovaterc",),
        ),
    ],
)
def test_one_bot_by_setting_else_the_one_in_use_else_dependabot(
    setting: str, present: list[str], bot: UpdateBot, path: str, others: tuple[str, ...]
) -> None:
    """The chosen bot's own file is rewritten in place; the other bot's files are named."""
    choice = choose_bot(setting, present)
    assert (choice.bot, choice.path, choice.other_files) == (bot, path, others)


def test_notes_name_the_duplicate_and_the_settings_dependabot_cannot_apply() -> None:
    """A person learns why, what was left alone, and which setting to change."""
    choice = choose_bot("auto", [".github/dependabot.yml", "renovate.json"])
    notes = bot_notes(choice, reviewers=["bob"], assignees=["alice", "team:platform"])
    assert notes[0] == (
        "dependabot configured in .github/dependabot.yml: "
        "the repository already uses it (.github/dependabot.yml)."
    )
    assert "renovate.json configures renovate too" in notes[1]
    assert "ORCHESTRA_UPDATE_BOT=renovate" in notes[1]
    assert "ORCHESTRA_UPDATE_REVIEWERS is not written" in notes[2]
    assert "left out: team:platform" in notes[3]
    assert bot_notes(choose_bot("renovate", []), ["bob"], ["alice"]) == [
        "renovate configured in renovate.json: ORCHESTRA_UPDATE_BOT=renovate."
    ]


def _weekly_scan() -> tuple[int, int, str, str]:
    """(hour, minute, weekday, time zone) of the weekly scan in prefect.yaml."""
    document = YAML(typ="safe").load((ROOT / "prefect.yaml").read_text())
    weekly = next(d for d in document["deployments"] if d["name"] == "weekly-security-scan")
    (schedule,) = weekly["schedules"]
    minute, hour, _, _, weekday = schedule["cron"].split()
    return int(hour), int(minute), WEEKDAYS[int(weekday)], schedule["timezone"]


def test_both_bots_run_on_the_scans_weekday_before_it_in_its_time_zone() -> None:
    """Read from prefect.yaml: updates land before the scan that checks them."""
    hour, minute, day, zone = _weekly_scan()
    for update in dependabot_config(["/"], ["/dashboard"])["updates"]:
        schedule = update["schedule"]
        assert (schedule["interval"], schedule["day"], schedule["timezone"]) == (
            "weekly",
            day,
            zone,
        )
        update_hour, update_minute = map(int, schedule["time"].split(":"))
        assert (update_hour, update_minute) < (hour, minute)
    renovate = renovate_config()
    assert renovate["timezone"] == zone
    assert renovate["schedule"] == [f"before {hour}am on {day}"]


def test_people_settings_parse_comma_lists_and_refuse_bad_names() -> None:
    """Empty by default; `a, team:b` is two names; a name with a space is refused."""
    assert settings().update_reviewers == () and settings().update_assignees == ()
    assert settings(update_reviewers="alice, team:platform").update_reviewers == (
        "alice",
        "team:platform",
    )
    with pytest.raises(ValidationError, match="not a GitHub login"):
        settings(update_assignees="alice, bad name")
    with pytest.raises(ValidationError):
        settings(update_bot="greenkeeper")
    # `NAME=` means unset; the product source is checked where it is used, not on load.
    blank = settings(workflow_product_git_url="", workflow_product_commit=" ", update_bot="")
    assert (blank.workflow_product_git_url, blank.workflow_product_commit) == (None, None)
    assert blank.update_bot == "auto"
    assert settings(workflow_product_commit="main").workflow_product_commit == "main"


def _example(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("node_modules"))
    return repo


def test_renovate_by_setting_leaves_the_dependabot_file_and_says_so(tmp_path: Path) -> None:
    """The example uses Dependabot; choosing Renovate writes renovate.json only."""
    repo = _example(tmp_path)
    before = (repo / ".github" / "dependabot.yml").read_text()
    chosen = settings(update_bot="renovate", update_reviewers="team:platform")
    plan = plan_config_files(repo, chosen)
    paths = {c.path for c in plan.changes}
    assert "renovate.json" in paths and ".github/dependabot.yml" not in paths
    assert any(".github/dependabot.yml configures dependabot too" in n for n in plan.notes)
    write_config_files(repo, plan.changes)
    assert (repo / ".github" / "dependabot.yml").read_text() == before
    assert json.loads((repo / "renovate.json").read_text())["reviewers"] == ["team:platform"]


def test_an_existing_renovate_config_is_kept_as_the_bot(tmp_path: Path) -> None:
    """auto: a repo with .github/renovate.json and no dependabot.yml stays on Renovate."""
    repo = _example(tmp_path)
    (repo / ".github" / "dependabot.yml").unlink()
    (repo / ".github" / "renovate.json").write_text('{"extends": ["config:base"]}\n')
    plan = plan_config_files(repo, settings())
    bot = [c for c in plan.changes if c.kind in ("dependabot", "renovate")]
    assert [(c.path, c.kind) for c in bot] == [(".github/renovate.json", "renovate")]
    assert '-{"extends": ["config:base"]}' in bot[0].diff


def test_a_pinned_product_source_adds_the_sarif_job(tmp_path: Path) -> None:
    """Both settings: the job fetches that commit; one of them alone is refused by name."""
    repo = _example(tmp_path)
    url, commit = "https://github.com/acme/orchestra-ops.git", "c" * 40
    plan = plan_config_files(
        repo, settings(workflow_product_git_url=url, workflow_product_commit=commit)
    )
    workflow = next(c for c in plan.changes if c.path.endswith("security-audit.yml"))
    jobs = YAML(typ="safe").load(workflow.generated)["jobs"]
    assert jobs["sarif"]["permissions"] == {
        "actions": "read",
        "contents": "read",
        "security-events": "write",
    }
    assert f'PRODUCT_COMMIT: "{commit}"' in workflow.generated
    assert not any("no SARIF job" in note for note in plan.notes)
    with pytest.raises(ConfigError, match="ORCHESTRA_WORKFLOW_PRODUCT_COMMIT is not set"):
        plan_config_files(repo, settings(workflow_product_git_url=url))
    with pytest.raises(
        ConfigError, match=r"ORCHESTRA_WORKFLOW_PRODUCT_GIT_URL must be an https://"
    ):
        plan_config_files(
            repo,
            settings(
                workflow_product_git_url="http://x.example/o.git", workflow_product_commit=commit
            ),
        )
