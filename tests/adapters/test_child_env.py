"""Child processes get an allow-listed environment: no credential of the worker's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from orchestra_ops.adapters.node_build import preflight_build
from orchestra_ops.adapters.scanners._process import tool_env
from orchestra_ops.domain.frontend.detect import AppProfile, Framework, PackageManager

WORKER_SECRETS = {
    "VERCEL_TOKEN": "canary-vercel-token",
    "PULUMI_ACCESS_TOKEN": "canary-pulumi-token",
    "PULUMI_CONFIG_PASSPHRASE": "canary-passphrase",
    "LAMBDA_LABS_API_KEY": "canary-lambda-key",
    "ORCHESTRA_NOTIFY_WEBHOOK_URL": "https://hooks.example/canary-webhook",
    "ORCHESTRA_SECRET_NEXTAUTH_SECRET": "canary-other-apps-secret",
    "DATABASE_URL": "postgres://canary:pw@db/other-app",
    "SAFETY_API_KEY": "canary-safety-key",
}


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in WORKER_SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/registry")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


@pytest.mark.usefixtures("worker_env")
def test_scanners_get_no_worker_variable_they_did_not_ask_for(tmp_path: Path) -> None:
    """The scanner environment: basics and a private HOME, nothing secret."""
    env = tool_env(tmp_path / "home", {"PIP_AUDIT_PROGRESS_SPINNER": "off"})
    assert not set(WORKER_SECRETS) & set(env)
    assert "npm_config_registry" not in env  # the runners set their registry explicitly
    assert env["HOME"] == str(tmp_path / "home") and env["PATH"] and env["LC_ALL"] == "C.UTF-8"
    assert env["PIP_AUDIT_PROGRESS_SPINNER"] == "off"


@pytest.mark.usefixtures("worker_env")
@pytest.mark.skipif(shutil.which("npm") is None, reason="node and npm are not on PATH")
def test_the_preflight_build_sees_only_basics_npm_config_and_the_apps_own_variables(
    tmp_path: Path,
) -> None:
    """npm ci and npm run build run with an environment that holds no worker credential."""
    app = tmp_path / "site"
    app.mkdir()
    dump = (
        "const fs = require('fs'); fs.mkdirSync('dist', {recursive: true}); "
        "fs.writeFileSync('dist/env.json', JSON.stringify(process.env))"
    )
    (app / "package.json").write_text(
        json.dumps({"name": "site", "version": "1.0.0", "scripts": {"build": f'node -e "{dump}"'}})
    )
    (app / "package-lock.json").write_text(
        json.dumps({"name": "site", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {}}})
    )
    profile = AppProfile(
        "site", Framework.VITE, "npm run build", "npm ci", "dist", PackageManager.NPM, None, None
    )
    outcome = preflight_build(app, profile, {}, {"VITE_TITLE": "Site"}, tmp_path / "work")
    seen = json.loads(outcome.output["dist/env.json"])
    leaked = {k for k, v in seen.items() if v in WORKER_SECRETS.values()} | (
        set(WORKER_SECRETS) & set(seen)
    )
    assert leaked == set()
    assert seen["VITE_TITLE"] == "Site"
    assert seen["npm_config_registry"] == "http://127.0.0.1:9/registry"
    assert "PATH" in seen and "HOME" in seen
