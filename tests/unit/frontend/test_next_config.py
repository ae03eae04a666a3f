"""next.config edits: rewrite added, standalone kept off Vercel, the rest preserved."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orchestra_ops.domain.frontend.next_config import ManualEditRequired, edit_next_config
from orchestra_ops.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples/orchestra-main/dashboard/next.config.js"
API = "http://127.0.0.1:8000"
NODE = shutil.which("node")


def test_example_dashboard_config_is_edited_and_the_rest_kept() -> None:
    """The plan's two changes land; comments, env and other keys are untouched."""
    original = EXAMPLE.read_text()
    edit = edit_next_config(original, "dashboard/next.config.js", API)
    assert "...(process.env.VERCEL ? {} : { output: 'standalone' })," in edit.text
    assert "output: 'standalone',\n" not in edit.text.replace("{ output: 'standalone' }", "")
    assert f"destination: '{API}/api/:path*'" in edit.text
    for kept in ("reactStrictMode: true,", "CUSTOM_KEY: process.env.CUSTOM_KEY,", "// Legacy"):
        assert kept in edit.text
    assert edit.text.endswith("module.exports = nextConfig\n")
    assert len(edit.changes) == 2


def test_editing_twice_changes_nothing() -> None:
    """The edit is idempotent, so a re-run of the migration is a no-op."""
    once = edit_next_config(EXAMPLE.read_text(), "next.config.js", API)
    twice = edit_next_config(once.text, "next.config.js", API)
    assert twice.text == once.text
    assert twice.changes == ()


def test_mjs_and_ts_forms() -> None:
    """`export default {` and a typed `const nextConfig: NextConfig = {` are both handled."""
    mjs = 'export default {\n  output: "standalone"\n}\n'
    edited = edit_next_config(mjs, "next.config.mjs", API).text
    assert edited.startswith("export default {\n  ...(process.env.VERCEL")
    assert "async rewrites()" in edited
    ts = (
        "import type { NextConfig } from 'next'\n"
        "const nextConfig: NextConfig = { images: { unoptimized: true } }\n"
        "export default nextConfig\n"
    )
    assert "async rewrites()" in edit_next_config(ts, "next.config.ts", API).text


def test_braces_in_strings_and_comments_do_not_confuse_the_scanner() -> None:
    """A `}` in a string or a comment is not the end of the object."""
    text = (
        "module.exports = {\n"
        "  basePath: '/a}b', // not the end }\n"
        "  /* { nor this } */\n"
        "  experimental: { output: 'standalone' },\n"
        "  title: `x ${'}'} y`,\n"
        "}\n"
    )
    edited = edit_next_config(text, "next.config.js", API).text
    assert "experimental: { output: 'standalone' }" in edited
    assert edited.index("async rewrites()") > edited.index("title:")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("module.exports = (phase) => ({ output: 'standalone' })\n", "no plain config object"),
        ("module.exports = withBundleAnalyzer({ reactStrictMode: true })\n", "no plain"),
        (
            "module.exports = {\n  async rewrites() { return [{ source: '/x' }] },\n}\n",
            "already has rewrites()",
        ),
        ("module.exports = {\n  a: [1, 2,\n}\n", "unbalanced braces"),
    ],
)
def test_unsafe_shapes_stop_with_the_exact_manual_change(text: str, why: str) -> None:
    """When we cannot be sure, the error shows exactly what to change by hand."""
    with pytest.raises(ManualEditRequired) as caught:
        edit_next_config(text, "dashboard/next.config.js", API)
    assert why in str(caught.value)
    assert caught.value.instructions in str(caught.value)
    assert "process.env.VERCEL" in caught.value.instructions
    assert f"{API}/api/:path*" in caught.value.instructions


def test_existing_api_rewrite_is_left_alone() -> None:
    """A config that already rewrites /api is not touched twice."""
    text = (
        "module.exports = {\n  async rewrites() {\n"
        "    return [{ source: '/api/:path*', destination: 'https://x/api/:path*' }]\n  },\n}\n"
    )
    assert edit_next_config(text, "next.config.js", API).text == text


def test_api_base_must_be_a_plain_url() -> None:
    """Nothing that could break out of the JS string literal is accepted."""
    with pytest.raises(ConfigError, match="not a plain http"):
        edit_next_config(EXAMPLE.read_text(), "next.config.js", "http://x/'+evil+'")


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
@pytest.mark.parametrize("name", ["next.config.js", "next.config.mjs"])
def test_edited_file_is_valid_javascript(tmp_path: Path, name: str) -> None:
    """node --check accepts the edited file."""
    text = EXAMPLE.read_text()
    if name.endswith(".mjs"):
        text = text.replace("module.exports = nextConfig", "export default nextConfig")
    target = tmp_path / name
    target.write_text(edit_next_config(text, name, API).text)
    done = subprocess.run(
        [str(NODE), "--check", str(target)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
