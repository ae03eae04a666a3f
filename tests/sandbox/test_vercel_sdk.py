"""Vercel's generated SDK (@vercel/sdk, response validation on) against the emulator.

tools/vercel-conformance/sdk-check.mjs calls every endpoint the product's adapter and the
Vercel CLI use, in order on one project; the SDK checks each answer against Vercel's
schemas. Any step it rejects (or any expectation the script states) fails this test.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from orchestra_ops.sandbox.vercel import VERCEL_SANDBOX_TOKEN
from tests.sandbox.vercel_tools import SDK, TEAM, TOOLS, missing_reason, served_emulator

pytestmark = [
    pytest.mark.node,
    pytest.mark.slow,  # real npm installs and builds, or the SDK's node process: 10-30 s
    pytest.mark.skipif(missing_reason(SDK) is not None, reason=str(missing_reason(SDK))),
]
EXPECTED_STEPS = {
    "GET /v2/user",
    "GET /v2/teams/{teamId}",
    "POST /v11/projects",
    "GET /v9/projects/{idOrName} without teamId (personal scope)",
    "POST /v13/deployments (production)",
    "POST /v1/projects/{projectId}/rollback/{deploymentId}",
    "GET /v9/projects/{idOrName} after rollback",
    "POST /v10/projects/{projectId}/promote/{deploymentId}",
    "GET /v9/projects/{idOrName} after promote",
    "GET /v9/projects/{idOrName}/custom-environments",
    "PATCH /v12/deployments/{id}/cancel",
}


def test_every_endpoint_passes_the_sdk_response_validation(tmp_path: Path) -> None:
    """All steps pass; the failing ones (with the SDK's complaint) are listed otherwise."""
    with served_emulator(build_delay_s=1.0) as served:  # builds pass QUEUED and BUILDING
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "VERCEL_API_URL": served.api_url,
            "VERCEL_TOKEN": VERCEL_SANDBOX_TOKEN,
            "VERCEL_TEAM_ID": TEAM,
        }
        result = subprocess.run(
            ["node", "sdk-check.mjs"],
            cwd=TOOLS,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.stdout.strip(), f"sdk-check printed nothing:\n{result.stderr}"
    steps = json.loads(result.stdout)["steps"]
    failed = [f"{s['name']}: {s['error']}" for s in steps if not s["ok"]]
    assert not failed, "\n".join(failed)
    assert result.returncode == 0, result.stderr
    assert EXPECTED_STEPS <= {s["name"] for s in steps}
    assert len(steps) >= 31
