"""Test helpers: the legacy-layout fixture as an in-memory snapshot."""

from __future__ import annotations

from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[3] / "examples" / "orchestra-main"
_SKIP = {"node_modules", "dist", ".next"}


def fixture_snapshot() -> dict[str, str]:
    """Every file of examples/orchestra-main as {relative posix path: text}."""
    snapshot = {}
    for path in sorted(FIXTURE.rglob("*")):
        relative = path.relative_to(FIXTURE)
        if path.is_file() and not _SKIP & set(relative.parts):
            snapshot[relative.as_posix()] = path.read_text(encoding="utf-8")
    return snapshot
