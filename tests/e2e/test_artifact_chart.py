"""The weekly trend chart renders in the Prefect UI: a real server, its UI in headless Chromium.

A scan summary carrying the chart (``markdown_image(trend_svg(...))``, as the security
flow publishes it) goes to a ``prefect server start`` through Prefect's own
``create_markdown_artifact``; Chromium then opens the artifact's page. The DOM must hold
an ``<img>`` with that very SVG, and the screenshot must show the bars' colours: the
picture was drawn, not only linked.
"""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestra_ops.domain.security.trend_chart import COLOURS
from tests.e2e.prefect_processes import (
    PREFECT,
    environment,
    free_port,
    headless_chromium,
    start,
    stop,
    wait_healthy,
)
from tests.prefect_database import server_home

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not on PATH"),
]

PUBLISH = """
import datetime as dt
from prefect.artifacts import create_markdown_artifact
from orchestra_ops.domain.security.trend_chart import TrendPoint, markdown_image, trend_svg

weeks = [(5, 1, 6, 3), (12, 1, 5, 3), (19, 0, 4, 2), (26, 0, 2, 2)]
points = [
    TrendPoint(dt.datetime(2026, 10, d, 14, tzinfo=dt.UTC),
               {"critical": c, "high": h, "moderate": m, "low": 1, "unknown": 0})
    for d, c, h, m in weeks
]
chart = markdown_image(trend_svg(points, "Findings per scan: orchestra-main"))
summary = "# Dependency security scan: FAILED\\n\\n## Trend\\n\\n" + chart + "\\n"
print(create_markdown_artifact(summary, key="security-summary-orchestra-main"))
"""


class _Images(HTMLParser):
    """The ``src`` of every ``<img>`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src") or "")


def _pixels(png: bytes) -> Iterator[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit, non-interlaced PNG (what Chromium writes); no Pillow."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, data, header = 8, b"", b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        header = body if kind == b"IHDR" else header
        data += body if kind == b"IDAT" else b""
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    step = 3 if colour == 2 else 4
    raw, stride, previous = zlib.decompress(data), width * step, bytearray(width * step)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        row = _unfilter(line[0], bytearray(line[1:]), previous, step)
        for x in range(0, stride, step):
            yield row[x], row[x + 1], row[x + 2]
        previous = row


def _unfilter(kind: int, row: bytearray, above: bytearray, step: int) -> bytearray:
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        up, corner = above[i], above[i - step] if i >= step else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
            row[i] = (row[i] + guess) & 0xFF
    return row


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_the_weekly_trend_chart_renders_in_the_artifact_page(tmp_path: Path) -> None:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = environment(server_home(tmp_path / "prefect-home"), api_url)
    log = tmp_path / "server.log"
    server = start(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, log
    )
    try:
        wait_healthy(api_url, server, log)
        published = subprocess.run(
            [sys.executable, "-c", PUBLISH], env=env, capture_output=True, text=True, timeout=120
        )
        assert published.returncode == 0, published.stderr[-2000:]
        artifact_id = published.stdout.strip().splitlines()[-1]
        page = f"http://127.0.0.1:{port}/artifacts/artifact/{artifact_id}"

        images = _Images()
        images.feed(headless_chromium(page, tmp_path / "profile", "--dump-dom"))
        charts = [s for s in images.sources if s.startswith("data:image/svg+xml;base64,")]
        assert len(charts) == 1, f"no chart image in the artifact page: {images.sources}"
        svg = base64.b64decode(charts[0].split(",", 1)[1]).decode()
        assert "Findings per scan: orchestra-main" in svg

        screenshot = tmp_path / "security-trend-artifact.png"
        wanted = {_rgb(COLOURS[label]): label for label in ("critical", "high", "moderate")}
        for _ in range(3):  # on a loaded machine the page may not have drawn yet: look again
            headless_chromium(page, tmp_path / "profile", f"--screenshot={screenshot}")
            counts = dict.fromkeys(wanted.values(), 0)
            for pixel in _pixels(screenshot.read_bytes()):
                if pixel in wanted:
                    counts[wanted[pixel]] += 1
            # Bars of 11 to 5 findings, 48 px wide on a 180 px axis: thousands of pixels each.
            if all(n > 300 for n in counts.values()):
                break
        assert all(n > 300 for n in counts.values()), counts
        print(f"UI screenshot of the trend chart: {screenshot} ({counts})")
    finally:
        stop(server)
