"""Run reports read as words and links: no Python reprs, deployments linked."""

from __future__ import annotations

import re

from orchestra_ops.domain.run_markdown import (
    change_counts,
    frontend_report,
    provisioning_report,
    roadmap_report,
)

REPR = re.compile(r"None|\{'|\[\]|\{\}")


def test_a_frontend_report_links_its_deployments() -> None:
    text = frontend_report(
        {
            "app": "dashboard",
            "outcome": "migrated",
            "project_id": "prj_1",
            "deployment_id": "dpl_2",
            "preview_url": "https://dash-abc-sandbox.vercel.app",
            "production_url": "https://dash.vercel.app",
            "preflight": "built",
            "env_written": 0,
            "deploy_s": 1.25,
            "gate": ["production index: healthy"],
            "rollback": [],
            "error": None,
        }
    )
    assert "- production: [https://dash.vercel.app](https://dash.vercel.app)" in text
    assert "- preview: [https://dash-abc-sandbox.vercel.app](" in text
    assert "- environment variables written: 0" in text
    assert "- deploy time: 1.25 s" in text
    assert not REPR.search(text), text


def test_a_provisioning_report_says_its_preview_in_words() -> None:
    text = provisioning_report(
        {
            "environment": "dev",
            "outcome": "planned",
            "serving_colour": None,
            "instance_ids": [],
            "api_url": None,
            "usd_per_hour": "1.10",
            "preview": {"create": 3, "same": 1, "delete": 0},
            "health": [],
            "rollback": [],
            "error": None,
        }
    )
    assert "- preview: 3 to create, 1 unchanged" in text
    assert "- cost at most: 1.10 USD an hour" in text
    assert not REPR.search(text), text
    assert change_counts({}) == "no changes"


def test_the_roadmap_report_marks_cached_phases_and_links() -> None:
    phases = [
        {
            "phase": "1A admin interface",
            "state": "completed",
            "cached": True,
            "duration_s": 0.04,
            "detail": "admin-interface: migrated | ok",
            "links": ["https://orchestra-admin.vercel.app", "/state/report.json"],
        }
    ]
    metrics = {"rollback worked": {"rollbacks": 0, "met": None, "why": "nothing failed"}}
    text = roadmap_report("completed", phases, metrics)
    row = "| 1A admin interface | completed (cached) | 0.04 s | admin-interface: migrated \\| ok |"
    assert row in text
    assert "[https://orchestra-admin.vercel.app](https://orchestra-admin.vercel.app)" in text
    assert "`/state/report.json`" in text
    assert "- rollback worked: not measured; nothing failed" in text
