"""The Markdown of the run reports the flows publish as Prefect artifacts (pure).

Written for the person reading the run in the Prefect UI: words and links, never a
Python repr (no ``{'create': 1}``, no ``None``). Each function takes the report as plain
data (a flow's report model dumped with ``model_dump()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from orchestra_ops.domain.roadmap_metrics import describe_metric


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def link(url: str, label: str | None = None) -> str:
    """A Markdown link to ``url``; a local path (a report file) stays code, not a link."""
    if not url.startswith(("http://", "https://")):
        return f"`{url}`"
    return f"[{label or url}]({url})"


def change_counts(counts: Mapping[str, int]) -> str:
    """``{'create': 2, 'same': 1}`` as ``2 to create, 1 unchanged``; ``no changes`` if none."""
    words = {"same": "unchanged", "create": "to create", "update": "to update"}
    words |= {"delete": "to delete", "replace": "to replace"}
    parts = [f"{n} {words.get(op, op)}" for op, n in sorted(counts.items()) if n and op != "same"]
    if counts.get("same"):
        parts.append(f"{counts['same']} unchanged")
    return ", ".join(parts) or "no changes"


def _facts(pairs: Iterable[tuple[str, object]]) -> list[str]:
    """``- label: value`` for every value that is there (None, empty and zero-length left out)."""
    return [f"- {label}: {value}" for label, value in pairs if value not in (None, "", [], {})]


def frontend_report(report: Mapping[str, Any]) -> str:
    """One app's migration: outcome, links to its deployment, gates, rollback."""
    preview, production = report.get("preview_url"), report.get("production_url")
    lines = [
        f"# Frontend migration: {report['app']}",
        "",
        f"**Outcome: {report['outcome']}**",
        "",
        *_facts(
            [
                ("production", link(production) if production else None),
                ("preview", link(preview) if preview else None),
                ("Vercel project", report.get("project_id")),
                ("deployment", report.get("deployment_id")),
                ("preflight build", report.get("preflight")),
                ("environment variables written", report.get("env_written")),
                ("deploy time", _seconds(report.get("deploy_s"))),
                ("error", report.get("error")),
            ]
        ),
    ]
    if report.get("gate"):
        lines += ["", "## Health gates", *(f"- {line}" for line in report["gate"])]
    if report.get("rollback"):
        lines += ["", "## Rollback and recovery", *(f"- {line}" for line in report["rollback"])]
    if report["outcome"] == "rollback-failed":
        lines += ["", "**Run `orchestra-ops recover` once the cause is fixed.**"]
    return "\n".join(lines) + "\n"


def provisioning_report(report: Mapping[str, Any]) -> str:
    """One environment's provisioning: what serves, its API, the preview, health, rollback."""
    api = report.get("api_url")
    preview = report.get("preview")
    lines = [
        f"# Lambda provisioning: {report['environment']}",
        "",
        f"**{report['outcome']}**",
        "",
        *_facts(
            [
                ("serving colour", report.get("serving_colour")),
                ("instances", ", ".join(report.get("instance_ids") or []) or None),
                ("API", link(api) if api else None),
                ("cost at most", _usd(report.get("usd_per_hour"))),
                ("preview", change_counts(preview) if preview else None),
                ("error", report.get("error")),
            ]
        ),
    ]
    lines += [f"- health: {line}" for line in report.get("health") or []]
    lines += [f"- rollback: {line}" for line in report.get("rollback") or []]
    if report["outcome"] == "rollback-failed":
        lines += ["", "**Run `orchestra-ops recover` once the cause is fixed.**"]
    return "\n".join(lines) + "\n"


def roadmap_report(
    state: str, phases: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any]
) -> str:
    """The roadmap: every phase (cached ones marked) with its links, then the metrics."""
    lines = [
        f"# Roadmap: {state}",
        "",
        "| phase | state | duration | detail | links |",
        "|---|---|---|---|---|",
    ]
    for phase in phases:
        shown = phase["state"] + (" (cached)" if phase.get("cached") else "")
        links = " ".join(link(url) for url in phase.get("links") or [])
        cells = [phase["phase"], shown, _seconds(phase["duration_s"]), phase["detail"][:300]]
        lines.append("| " + " | ".join(cell(c) for c in cells) + f" | {links} |")
    lines += ["", "## Success metrics", ""]
    lines += [f"- {describe_metric(name, metric)}" for name, metric in metrics.items()]
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:g} s"


def _usd(value: object) -> str | None:
    return None if value in (None, "") else f"{value} USD an hour"
