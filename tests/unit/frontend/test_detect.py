"""App detection on the example monorepo and on malformed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestra_ops.domain.frontend.detect import Framework, PackageManager, detect_app
from orchestra_ops.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orchestra-main"


def _files(app: str) -> dict[str, str]:
    root = EXAMPLE / app
    return {p.name: p.read_text() for p in root.iterdir() if p.is_file()}


def test_detects_the_vite_admin_interface() -> None:
    """The admin app is Vite, built by npm into dist."""
    profile = detect_app("admin-interface", _files("admin-interface"))
    assert profile.framework is Framework.VITE
    assert profile.build_command == "npm run build"
    assert profile.install_command == "npm ci"
    assert profile.output_directory == "dist"
    assert profile.package_manager is PackageManager.NPM
    assert profile.is_spa


def test_detects_the_nextjs_dashboard() -> None:
    """The dashboard is Next.js; its output is .next, not a static directory."""
    profile = detect_app("dashboard", _files("dashboard"))
    assert profile.framework is Framework.NEXTJS
    assert profile.output_directory == ".next"
    assert not profile.is_spa


def test_package_manager_and_engine_and_out_dir() -> None:
    """pnpm from its lockfile (or packageManager), engines.node and a custom outDir."""
    package = {
        "devDependencies": {"vite": "^7"},
        "scripts": {"build": "vite build"},
        "engines": {"node": ">=20"},
    }
    files = {
        "package.json": json.dumps(package),
        "pnpm-lock.yaml": "",
        "vite.config.ts": "export default { build: { outDir: './build/web/' } }",
    }
    profile = detect_app("x", files)
    assert profile.package_manager is PackageManager.PNPM
    assert profile.install_command == "pnpm install --frozen-lockfile"
    assert profile.node_engine == ">=20"
    assert profile.output_directory == "build/web"
    declared = {**package, "packageManager": "yarn@4.1.0"}
    yarn = detect_app("x", {"package.json": json.dumps(declared)})
    assert (yarn.build_command, yarn.install_command) == ("yarn build", "yarn install")


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({}, "x/package.json: missing"),
        ({"package.json": '{"name": "x",\n  "scripts": }'}, "x/package.json:2: not valid JSON"),
        ({"package.json": "[]"}, "must hold a JSON object"),
        ({"package.json": '{"dependencies": {"react": "19"}}'}, "neither next nor vite"),
        ({"package.json": '{"dependencies": {"next": "16"}}'}, "has no scripts.build"),
        ({"package.json": '{"dependencies": ["next"]}'}, "dependencies must be an object"),
    ],
)
def test_malformed_apps_are_refused_by_file_and_line(files: dict[str, str], fragment: str) -> None:
    """Every refusal names the file (and the line, for JSON errors)."""
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        detect_app("x", files)


@pytest.mark.parametrize("out_dir", ["../backend/app/frontend", "/srv/www"])
def test_an_out_dir_outside_the_app_is_refused_by_name(out_dir: str) -> None:
    """Found on fastapi/full-stack-fastapi-template: outDir ../backend/app/frontend became
    Vercel's output directory, outside the project and the upload."""
    package = {"devDependencies": {"vite": "7"}, "scripts": {"build": "vite build"}}
    files = {
        "package.json": json.dumps(package),
        "vite.config.ts": f"export default {{ build: {{ outDir: '{out_dir}' }} }}\n",
    }
    with pytest.raises(ConfigError, match=r"web/vite.config.ts: build.outDir .* leaves the app"):
        detect_app("web", files)
