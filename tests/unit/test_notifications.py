"""The notice builders and their Slack rendering (pure, no I/O)."""

from __future__ import annotations

import json

from orchestra_ops.domain.notifications import (
    Level,
    NoticeKind,
    findings_notice,
    phase_failed,
    provisioning_refused,
    render_slack,
    rollback_ran,
    security_findings,
)
from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.errors import HealthCheckFailed


def _texts(payload: dict[str, object]) -> str:
    return json.dumps(payload)


def _finding(cve: str, severity: Severity | None, score: float | None = None) -> Finding:
    return Finding(
        ecosystem=Ecosystem.PYPI,
        package="requests",
        version="2.19.0",
        ids=frozenset({cve}),
        manifest="requirements.txt",
        tools=frozenset({"pip-audit"}),
        severity=severity,
        cvss_score=score,
    )


def test_phase_failed_renders_slack_blocks_with_mrkdwn_sections() -> None:
    """Text fallback, a title section, labelled fields, the error, a context line."""
    notice = phase_failed("2A backend stack", HealthCheckFailed("http://10.0.0.5/health", "503"))
    payload = render_slack(notice)
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith("Roadmap phase 2A backend stack failed: HealthCheckFailed")
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["section", "section", "section", "context"]
    assert blocks[0]["text"] == {
        "type": "mrkdwn",
        "text": ":rotating_light: *Roadmap phase 2A backend stack failed*",
    }
    assert blocks[1]["fields"] == [{"type": "mrkdwn", "text": "*Phase*\n2A backend stack"}]
    assert "health check of http://10.0.0.5/health failed: 503" in blocks[2]["text"]["text"]
    assert blocks[3]["elements"][0]["text"] == "orchestra-ops · phase-failed"
    assert notice.level is Level.ERROR


def test_rollback_names_what_why_and_the_restored_deployment() -> None:
    """Healthy after rollback is a warning; still unhealthy is an error and says so."""
    healed = rollback_ran(
        "admin on Vercel", "production gate failed", "deployment dpl_1", healthy=True
    )
    assert healed.kind is NoticeKind.ROLLBACK and healed.level is Level.WARNING
    assert dict(healed.facts) == {
        "What": "admin on Vercel",
        "Restored": "deployment dpl_1",
        "Health": "healthy again",
    }
    assert healed.detail == "Why: production gate failed"
    broken = rollback_ran("backend prod", "probe timed out", None, healthy=False)
    assert broken.level is Level.ERROR
    assert dict(broken.facts)["Restored"] == "nothing earlier to restore"
    assert dict(broken.facts)["Health"] == "STILL UNHEALTHY"
    assert "Health" not in dict(rollback_ran("x", "y", "v1").facts)


def test_provisioning_refused_names_the_environment_and_reason() -> None:
    """The environment is a field, the reason the detail."""
    notice = provisioning_refused("prod", "instance type gpu_9x_h100 is not allowed in prod")
    assert notice.title == "Provisioning request for prod refused"
    assert dict(notice.facts) == {"Environment": "prod"}
    assert "gpu_9x_h100" in render_slack(notice)["blocks"][2]["text"]["text"]


def test_security_findings_counts_by_severity_threshold_and_top_ids() -> None:
    """Counts in severity order (zeros left out), at most five ids, then an ellipsis."""
    ids = [f"CVE-2024-000{i}" for i in range(7)]
    notice = security_findings(
        "orchestra-main", {"high": 4, "critical": 2, "low": 0}, "high", ids, report="/r/summary.md"
    )
    facts = dict(notice.facts)
    assert notice.title == "Security scan of orchestra-main: 6 findings at or above high"
    assert facts["By severity"] == "critical 2, high 4"
    assert facts["Top ids"] == ", ".join(ids[:5]) + " …"
    assert facts["Threshold"] == "high" and facts["Report"] == "/r/summary.md"


def test_scan_errors_are_said_in_the_title_and_facts() -> None:
    """A run that ended Failed with scan errors: the notice says the count is a floor."""
    failing = [_finding("CVE-2018-1", Severity.HIGH, 7.5)]
    errors = ["osv-scanner on web/package-lock.json", "pip-audit on requirements.txt"]
    notice = findings_notice("repo", failing, Severity.HIGH, scan_errors=errors)
    assert notice.title == (
        "Security scan of repo: 1 findings at or above high "
        "and 2 scan errors (the scan is incomplete)"
    )
    assert dict(notice.facts)["Scan errors"] == ", ".join(errors)
    assert "Scan errors" not in dict(findings_notice("repo", failing, Severity.HIGH).facts)


def test_findings_notice_ranks_the_most_severe_first() -> None:
    """From the gate's failing findings: critical before high, higher score first."""
    failing = [
        _finding("CVE-2018-1", Severity.HIGH, 7.5),
        _finding("CVE-2018-2", Severity.CRITICAL, 9.1),
        _finding("CVE-2018-3", Severity.HIGH, 8.8),
        _finding("CVE-2018-4", None),
    ]
    facts = dict(findings_notice("repo", failing, Severity.HIGH).facts)
    assert facts["Top ids"] == "CVE-2018-2, CVE-2018-3, CVE-2018-1, CVE-2018-4"
    assert facts["By severity"] == "critical 1, high 2, unknown 1"


def test_long_text_is_truncated_and_credentials_in_urls_dropped() -> None:
    """A huge traceback is cut; user:password@ in a URL never reaches the message."""
    notice = phase_failed("1A", "x" * 10_000 + " https://bob:hunter2@git.example/repo.git")
    assert len(notice.detail) <= 1500 and notice.detail.endswith("…")
    cred = phase_failed("1A", "clone of https://bob:hunter2@git.example/repo.git failed")
    assert "hunter2" not in _texts(render_slack(cred))
    assert "https://***@git.example/repo.git" in cred.detail
    payload = render_slack(notice)
    for block in payload["blocks"]:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000
        assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))


def test_mentions_and_links_are_escaped() -> None:
    """A message cannot ping the channel or smuggle a link: <, > and & are escaped."""
    payload = render_slack(provisioning_refused("<!channel>", "a & b <http://evil|click>"))
    text = _texts(payload)
    assert "<!channel>" not in text and "<http://evil" not in text
    assert "&lt;!channel&gt;" in payload["blocks"][1]["fields"][0]["text"]
    assert "a &amp; b" in payload["blocks"][2]["text"]["text"]


def test_escaping_never_cuts_an_entity_in_half() -> None:
    """Escaped text at Slack's limit ends before a partial &amp;, never inside one."""
    payload = render_slack(phase_failed("1A", "&" * 1400))
    detail = payload["blocks"][2]["text"]["text"]
    assert len(detail) <= 3000
    assert detail.endswith("&amp;…")
