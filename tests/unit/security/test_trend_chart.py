"""The weekly trend as a picture: an SVG of findings per scan, embedded in the summary."""

from __future__ import annotations

import base64
import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from orchestra_ops.domain.security.markdown import advisory_link, linked
from orchestra_ops.domain.security.trend_chart import (
    MAX_SCANS,
    markdown_image,
    trend_points,
    trend_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def _report(day: int, **counts: int) -> dict[str, Any]:
    by_severity = {"critical": 0, "high": 0, "moderate": 0, "low": 0, "unknown": 0, **counts}
    at = dt.datetime(2026, 11, day, 14, 0, tzinfo=dt.UTC)
    return {"generated_at": at.isoformat(), "summary": {"by_severity": by_severity}}


def _bars(svg: str) -> dict[str, float]:
    """Each severity segment's height, keyed by its tooltip (``4 high``)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output; well-formed XML, or this raises
    return {
        title.text or "": float(rect.attrib["height"])
        for rect in root.iter(f"{SVG}rect")
        if (title := rect.find(f"{SVG}title")) is not None
    }


def test_points_come_oldest_first_and_damaged_reports_are_skipped() -> None:
    reports = [_report(23, high=2), {"generated_at": "yesterday"}, _report(9, critical=1), {}]
    points = trend_points(reports)
    assert [p.at.day for p in points] == [9, 23]
    assert [p.total for p in points] == [1, 2]


def test_bars_stack_each_severity_to_scale() -> None:
    svg = trend_svg(trend_points([_report(2, high=4, low=1), _report(9, high=2), _report(16)]))
    bars = _bars(svg)
    assert set(bars) == {"4 high", "1 low", "2 high"}
    assert bars["4 high"] == 2 * bars["2 high"] == 4 * bars["1 low"]
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"2026-11-02", "2026-11-09", "2026-11-16"} <= set(labels)
    assert {"critical", "high", "moderate", "low", "unknown"} <= set(labels)  # the legend
    assert "style" not in svg and "<script" not in svg  # presentation attributes only


def test_only_the_last_scans_are_drawn_and_no_scan_says_so() -> None:
    many = trend_points([_report(day, moderate=day) for day in range(1, 21)])
    bars = _bars(trend_svg(many))
    assert len(bars) == MAX_SCANS and "9 moderate" in bars and "8 moderate" not in bars
    assert "no scan yet" in trend_svg([])


def test_the_markdown_image_carries_the_svg_itself() -> None:
    svg = trend_svg(trend_points([_report(2, high=1)]), "Findings per scan: <repo & co>")
    image = markdown_image(svg)
    assert image.startswith("![Findings per scan, by severity](data:image/svg+xml;base64,")
    data = image.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(data).decode() == svg
    assert "Findings per scan: &lt;repo &amp; co&gt;" in svg


def test_advisory_ids_link_to_osv_and_other_ids_stay_text() -> None:
    assert advisory_link("GHSA-x84v-xcm2-53pg") == (
        "[GHSA-x84v-xcm2-53pg](https://osv.dev/vulnerability/GHSA-x84v-xcm2-53pg)"
    )
    assert advisory_link("36546") == "36546"  # a safety id: not in OSV
    assert advisory_link("CVE-2018-18074 ) x") == "CVE-2018-18074 ) x"


def test_ids_inside_a_remediation_line_become_links() -> None:
    text = linked("requests 2.19.0 -> 2.20.0 (CVE-2018-18074, GHSA-x84v-xcm2-53pg, 36546)")
    assert text == (
        "requests 2.19.0 -> 2.20.0 "
        "([CVE-2018-18074](https://osv.dev/vulnerability/CVE-2018-18074), "
        "[GHSA-x84v-xcm2-53pg](https://osv.dev/vulnerability/GHSA-x84v-xcm2-53pg), 36546)"
    )
