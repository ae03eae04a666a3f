"""prefect.yaml: every deployment points at a real flow; the weekly schedule is right."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import Flow
from ruamel.yaml import YAML

from deployments.automations import SILENCE_S
from orchestra_ops.domain.security.workflow import SCAN_HOUR, SCAN_TIMEZONE, utc_schedule

ROOT = Path(__file__).resolve().parents[2]


def _deployments() -> list[dict[str, Any]]:
    document = YAML(typ="safe").load((ROOT / "prefect.yaml").read_text())
    return list(document["deployments"])


def test_every_entrypoint_is_an_importable_flow() -> None:
    """A typo in an entrypoint would only show at deploy time; catch it here."""
    for deployment in _deployments():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert isinstance(getattr(module, name), Flow), deployment["name"]
        assert deployment["work_pool"]["name"] == "orchestra-ops-process"


def test_weekly_security_scan_runs_monday_6am_in_los_angeles() -> None:
    """The plan's 'Weekly Monday 6 AM', with an explicit timezone."""
    weekly = next(d for d in _deployments() if d["name"] == "weekly-security-scan")
    assert weekly["schedules"] == [
        {"cron": "0 6 * * 1", "timezone": "America/Los_Angeles", "active": True}
    ]
    assert weekly["parameters"]["params"]["repo_path"] == "{{ $ORCHESTRA_TARGET_REPO }}"


def test_the_generated_github_workflow_runs_at_the_deployments_hour_in_utc() -> None:
    """GitHub's cron is UTC: the generated audit converts the deployment's local hour."""
    weekly = next(d for d in _deployments() if d["name"] == "weekly-security-scan")
    (schedule,) = weekly["schedules"]
    minute, hour, _, _, weekday = schedule["cron"].split()
    assert (minute, weekday) == ("0", "1")
    local = dt.datetime(2026, 1, 5, int(hour), tzinfo=ZoneInfo(schedule["timezone"]))
    utc = local.astimezone(dt.UTC)
    assert utc_schedule(int(hour), schedule["timezone"])[0] == f"0 {utc.hour} * * 1"
    assert (SCAN_HOUR, SCAN_TIMEZONE) == (int(hour), schedule["timezone"])


def test_no_secret_literal_in_the_deployment_file() -> None:
    """Credentials come from the worker's environment or blocks, never from this file."""
    text = (ROOT / "prefect.yaml").read_text()
    for name in ("VERCEL_TOKEN", "LAMBDA_LABS_API_KEY", "PULUMI_ACCESS_TOKEN"):
        assert name not in text


def test_provisioning_runs_one_at_a_time_with_server_side_validation() -> None:
    """REST-triggered provisioning: a second request while one runs is cancelled."""
    provisioning = next(d for d in _deployments() if d["name"] == "lambda-provisioning")
    assert provisioning["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    assert provisioning["enforce_parameter_schema"] is True


def test_runs_clone_the_deployed_commit_not_a_deploy_time_path() -> None:
    """Every worker clones the repository at the commit `make deploy` fills in; no step
    changes into a directory of the deploying machine (a `{{ $PWD }}` is resolved there)."""
    document = YAML(typ="safe").load((ROOT / "prefect.yaml").read_text())
    assert document["pull"] == [
        {
            "prefect.deployments.steps.git_clone": {
                "repository": "{{ $ORCHESTRA_GIT_REPOSITORY }}",
                "commit_sha": "{{ $ORCHESTRA_GIT_COMMIT }}",
            }
        }
    ]
    assert all("pull" not in deployment for deployment in document["deployments"])
    makefile = (ROOT / "Makefile").read_text()
    assert "-m deployments.source $(BIN)/prefect --no-prompt deploy --all" in makefile


def test_the_pools_heartbeat_is_well_within_the_silence_that_marks_a_run_crashed() -> None:
    """deployments/automations.py marks a run Crashed after SILENCE_S without a heartbeat:
    a heartbeat interval near it would mark live runs."""
    document = YAML(typ="safe").load((ROOT / "prefect.yaml").read_text())
    pool = document["definitions"]["work_pools"]["process"]
    interval = int(pool["job_variables"]["env"]["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"])
    assert 0 < interval * 5 <= SILENCE_S, (interval, SILENCE_S)
    assert all(d["work_pool"]["name"] == pool["name"] for d in _deployments())
