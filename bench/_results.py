"""Record benchmark figures: merged into ``results/latest.json``, tabled in ``results/latest.md``.

A figure is a dict with key, name, value, unit, goal, command and an optional detail.
Recording a figure replaces the one with the same key and leaves the others as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "latest.json"
TABLE = RESULTS.with_suffix(".md")
_COLUMNS = ("key", "name", "value", "unit", "goal", "detail", "command")


def record(figures: list[dict[str, Any]]) -> None:
    """Merge ``figures`` into latest.json by key, then rewrite latest.md from all of them."""
    existing: dict[str, dict[str, Any]] = (
        json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    )
    existing.update({f["key"]: f for f in figures})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
    TABLE.write_text(markdown(existing.values()))


def markdown(figures: Iterable[dict[str, Any]]) -> str:
    """A Markdown table of ``figures``, sorted by key."""
    lines = [
        "# Benchmark figures",
        "",
        "Written by `make bench`; each figure is measured side by side in one run.",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for figure in sorted(figures, key=lambda f: str(f["key"])):
        cells = [_cell(column, figure.get(column)) for column in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def summary(figure: dict[str, Any]) -> str:
    """One line for the console: key, name, value with unit, goal and detail."""
    detail = f"; {figure['detail']}" if figure.get("detail") else ""
    value = f"{figure['value']} {figure['unit']}"
    return f"{figure['key']} {figure['name']}: {value} (goal {figure['goal']}{detail})"


def _cell(column: str, value: object) -> str:
    if value is None:
        return "n/a" if column == "value" else ""
    text = f"`{value}`" if column == "command" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")
