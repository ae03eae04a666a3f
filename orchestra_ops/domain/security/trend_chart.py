"""The weekly trend as a picture: findings per scan, stacked by severity, as an SVG (pure).

Every scan keeps its JSON report under ``history/``; :func:`trend_points` reads their
counts, :func:`trend_svg` draws the last scans as stacked bars, and
:func:`markdown_image` embeds the drawing in Markdown as a ``data:`` image: the Prefect
UI renders a Markdown image as an ``<img>``, and a data URL needs no file server, no
upload and no network. The SVG uses presentation attributes only (no CSS, no script).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from orchestra_ops.domain.security.reports import SEVERITY_ORDER

#: Worst first, as in SEVERITY_ORDER: deep red to grey.
COLOURS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "moderate": "#f59e0b",
    "low": "#facc15",
    "unknown": "#9ca3af",
}
MAX_SCANS = 12
WIDTH, HEIGHT = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 120, 40, 40


@dataclass(frozen=True)
class TrendPoint:
    """One scan: when it ran and how many findings it had per severity."""

    at: dt.datetime
    by_severity: Mapping[str, int]

    @property
    def total(self) -> int:
        """All findings of the scan."""
        return sum(self.by_severity.values())


def trend_points(reports: Iterable[Mapping[str, Any]]) -> list[TrendPoint]:
    """The scans of ``reports`` (JSON reports as data), oldest first; damaged ones skipped.

    A report without a readable ``generated_at`` or ``summary.by_severity`` is left out:
    a damaged old report costs one bar, never the chart.
    """
    points = []
    for report in reports:
        try:
            at = dt.datetime.fromisoformat(str(report["generated_at"]))
            counts = report["summary"]["by_severity"]
            by_severity = {label: int(counts.get(label, 0)) for label in SEVERITY_ORDER}
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if all(n >= 0 for n in by_severity.values()):
            points.append(TrendPoint(at, by_severity))
    return sorted(points, key=lambda p: p.at)


def _scale(top: int) -> int:
    """A round axis maximum at or above ``top`` (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= top:
                return step * factor
        step *= 10


def _label(point: TrendPoint, same_day: bool) -> str:
    return point.at.strftime("%m-%d %H:%M" if same_day else "%Y-%m-%d")


def trend_svg(points: Sequence[TrendPoint], title: str = "Findings per scan") -> str:
    """Stacked bars of the last :data:`MAX_SCANS` scans, a y axis and a severity legend."""
    shown = list(points)[-MAX_SCANS:]
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    top = _scale(max((p.total for p in shown), default=0) or 1)
    days = [p.at.date() for p in shown]
    same_day = len(set(days)) < len(days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, 1):
        y = _TOP + plot_h - tick * plot_h / top
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    slot = plot_w / max(len(shown), 1)
    bar_w = min(slot * 0.6, 48)
    for i, point in enumerate(shown):
        x = _LEFT + i * slot + (slot - bar_w) / 2
        y = _TOP + plot_h
        for label in reversed(SEVERITY_ORDER):  # the worst on top of the stack
            n = point.by_severity.get(label, 0)
            if n:
                h = n * plot_h / top
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[label]}"><title>{n} {label}</title></rect>'
                )
        centre = x + bar_w / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle">{point.total}</text>'
        )
        parts.append(
            f'<text x="{centre:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" '
            f'font-size="10">{_label(point, same_day)}</text>'
        )
    if not shown:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" '
            'text-anchor="middle">no scan yet</text>'
        )
    for i, label in enumerate(SEVERITY_ORDER):
        y = _TOP + 10 + i * 18
        parts.append(
            f'<rect x="{WIDTH - _RIGHT + 16}" y="{y - 9}" width="12" height="12" '
            f'fill="{COLOURS[label]}"/>'
        )
        parts.append(f'<text x="{WIDTH - _RIGHT + 34}" y="{y + 1}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown_image(svg: str, alt: str = "Findings per scan, by severity") -> str:
    """The SVG as a Markdown image with a ``data:`` URL (base64, so no character breaks it)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{data})"


_CHART_IMAGE = re.compile(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,[A-Za-z0-9+/=]*\)")


def chart_as_path(markdown: str, svg_path: object) -> str:
    """``markdown`` for a terminal: each chart image (3 kB of base64 there) replaced by the
    path of the SVG file."""
    return _CHART_IMAGE.sub(f"(chart: {svg_path})", markdown)
