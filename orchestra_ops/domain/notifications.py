"""Notices for people: what went wrong or was undone, rendered as Slack-compatible JSON.

Pure: builders turn what a flow knows into a :class:`Notice`; :func:`render_slack` gives
the webhook body (``{"text": ..., "blocks": [...]}``, mrkdwn sections). Callers pass only
safe strings (names, ids, error messages, which never hold a credential); every value is
still truncated, stripped of URL credentials and escaped, so a long traceback or a
stray ``<!channel>`` cannot flood or ping a channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestra_ops.domain.redaction import redact_urls
from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.reports import SEVERITY_ORDER, severity_label
from orchestra_ops.domain.security.severity import Severity

#: Longest single value and longest free text, before escaping.
MAX_VALUE = 300
MAX_DETAIL = 1500
#: Slack's own limits, after escaping: characters per section text and per field.
SLACK_SECTION = 3000
SLACK_FIELD = 2000
#: How many finding ids a security notice lists.
TOP_IDS = 5


class NoticeKind(StrEnum):
    """What a notice is about."""

    PHASE_FAILED = "phase-failed"
    ROLLBACK = "rollback"
    ROLLBACK_FAILED = "rollback-failed"
    UNFINISHED = "unfinished"
    PROVISIONING_REFUSED = "provisioning-refused"
    SECURITY_FINDINGS = "security-findings"


class Level(StrEnum):
    """How loud a notice is."""

    WARNING = "warning"
    ERROR = "error"

    @property
    def emoji(self) -> str:
        """The Slack emoji code leading the title."""
        return ":rotating_light:" if self is Level.ERROR else ":warning:"


class Notice(BaseModel):
    """One message for people: a title, labelled facts and an optional longer detail."""

    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    level: Level
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    detail: str = ""


def clean(text: object, limit: int = MAX_VALUE) -> str:
    """``text`` as a safe one-off string: URL credentials removed, cut to ``limit`` chars."""
    value = redact_urls(str(text)).strip()
    if len(value) > limit:
        return value[: limit - 1].rstrip() + "…"
    return value


def _escape(text: str, limit: int) -> str:
    """Escape for mrkdwn and keep within ``limit`` without cutting an entity in half."""
    # Slack reads <...> as links and mentions, & as an entity: escape all three.
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(out) <= limit:
        return out
    cut = out[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _notice(
    kind: NoticeKind,
    level: Level,
    title: str,
    facts: Iterable[tuple[str, object | None]],
    detail: str = "",
) -> Notice:
    kept = tuple((label, clean(value)) for label, value in facts if value not in (None, ""))
    return Notice(
        kind=kind, level=level, title=clean(title), facts=kept, detail=clean(detail, MAX_DETAIL)
    )


def _describe_error(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return error


def phase_failed(phase: str, error: BaseException | str, *, run: str | None = None) -> Notice:
    """A roadmap phase failed; ``run`` names the flow run (or its UI link) when known."""
    return _notice(
        NoticeKind.PHASE_FAILED,
        Level.ERROR,
        f"Roadmap phase {phase} failed",
        [("Phase", phase), ("Run", run)],
        detail=_describe_error(error),
    )


def rollback_ran(
    what: str, why: str, restored: str | None, *, healthy: bool | None = None
) -> Notice:
    """A rollback ran on ``what`` because of ``why``; ``restored`` is what serves now.

    ``healthy`` says whether the restored version passed its health gate (None: not probed).
    """
    health = {True: "healthy again", False: "STILL UNHEALTHY", None: None}[healthy]
    return _notice(
        NoticeKind.ROLLBACK,
        Level.ERROR if healthy is False else Level.WARNING,
        f"Rolled back {what}",
        [
            ("What", what),
            ("Restored", restored or "nothing earlier to restore"),
            ("Health", health),
        ],
        detail=f"Why: {why}",
    )


def rollback_failed(what: str, why: str, still_open: Sequence[str]) -> Notice:
    """A failed run on ``what`` could not be undone in full; a person must finish it."""
    return _notice(
        NoticeKind.ROLLBACK_FAILED,
        Level.ERROR,
        f"Rollback of {what} FAILED: run `orchestra-ops recover`",
        [("What", what), ("Still to undo", "; ".join(still_open))],
        detail=f"Why the run failed: {why}. The open steps stay in the ledger; "
        "`orchestra-ops recover` retries them once the cause is fixed.",
    )


def run_unfinished(what: str, why: str, left: str) -> Notice:
    """A run got past its health gate but stopped before it had finished."""
    return _notice(
        NoticeKind.UNFINISHED,
        Level.ERROR,
        f"{what} did not finish",
        [("What", what), ("Left", left)],
        detail=f"Why: {why}",
    )


def provisioning_refused(environment: str, reason: str) -> Notice:
    """A provisioning request for ``environment`` was refused before anything changed."""
    return _notice(
        NoticeKind.PROVISIONING_REFUSED,
        Level.WARNING,
        f"Provisioning request for {environment} refused",
        [("Environment", environment)],
        detail=f"Reason: {reason}",
    )


def security_findings(
    repo: str,
    counts: Mapping[str, int],
    threshold: str,
    top_ids: Sequence[str],
    *,
    report: str | None = None,
    scan_errors: Sequence[str] = (),
) -> Notice:
    """The scan of ``repo`` found findings at or above ``threshold``, or could not scan
    everything.

    ``counts`` are those findings per severity label; ``top_ids`` the most severe first;
    ``scan_errors`` what could not be scanned (``tool on manifest``): then the count of
    findings is a floor, and the title says so.
    """
    ordered = [label for label in SEVERITY_ORDER if counts.get(label)]
    ordered += sorted(label for label in counts if label not in SEVERITY_ORDER and counts[label])
    total = sum(counts[label] for label in ordered)
    shown = ", ".join(top_ids[:TOP_IDS]) + (" …" if len(top_ids) > TOP_IDS else "")
    title = f"Security scan of {repo}: {total} findings at or above {threshold}"
    errors = None
    if scan_errors:
        title += f" and {len(scan_errors)} scan errors (the scan is incomplete)"
        errors = ", ".join(scan_errors[:TOP_IDS]) + (" …" if len(scan_errors) > TOP_IDS else "")
    return _notice(
        NoticeKind.SECURITY_FINDINGS,
        Level.ERROR,
        title,
        [
            ("Repository", repo),
            ("Threshold", threshold),
            ("By severity", ", ".join(f"{label} {counts[label]}" for label in ordered)),
            ("Top ids", shown),
            ("Scan errors", errors),
            ("Report", report),
        ],
    )


def findings_notice(
    repo: str,
    failing: Sequence[Finding],
    threshold: Severity,
    *,
    report: str | None = None,
    scan_errors: Sequence[str] = (),
) -> Notice:
    """:func:`security_findings` from the gate's failing findings (most severe ids first)
    and its scan errors."""
    counts: dict[str, int] = {}
    for finding in failing:
        label = severity_label(finding)
        counts[label] = counts.get(label, 0) + 1
    ranked = sorted(
        failing, key=lambda f: (-(f.severity or 0), -(f.cvss_score or 0.0), f.primary_id)
    )
    ids = list(dict.fromkeys(f.primary_id for f in ranked))
    return security_findings(
        repo, counts, threshold.label, ids, report=report, scan_errors=scan_errors
    )


def render_slack(notice: Notice) -> dict[str, Any]:
    """The webhook body: a plain ``text`` fallback and mrkdwn section blocks."""
    title = f"{notice.level.emoji} *{_escape(notice.title, MAX_VALUE * 2)}*"
    blocks: list[dict[str, Any]] = [_section(title)]
    if notice.facts:
        # A section holds at most 10 fields; builders produce fewer, but stay within it.
        fields = [_field(label, value) for label, value in notice.facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    if notice.detail:
        blocks.append(_section(_escape(notice.detail, SLACK_SECTION)))
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"orchestra-ops · {notice.kind.value}"}],
        }
    )
    fallback = notice.title + (f": {notice.detail}" if notice.detail else "")
    return {"text": _escape(clean(fallback, MAX_DETAIL), SLACK_SECTION), "blocks": blocks}


def _field(label: str, value: str) -> dict[str, Any]:
    text = f"*{_escape(label, 100)}*\n{_escape(value, SLACK_FIELD - 110)}"
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
