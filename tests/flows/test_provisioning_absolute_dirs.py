"""A provisioning run given a relative ``infrastructure_dir`` (the deployment's default,
inside the run's own clone) records absolute paths, so that recovery never resolves them
against another directory (issue #17). On the engine test double."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.lambda_provisioning import lambda_provisioning
from orchestra_ops.ledger import Ledger
from orchestra_ops.sandbox.runner import Endpoints, Sandbox
from tests.flows.provisioning_support import (
    copy_projects,
    fresh_sandbox,  # noqa: F401 - a sandbox per test
    params,
    use_sandbox,
)

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def test_a_relative_infrastructure_dir_is_recorded_absolute(
    sandbox: tuple[Sandbox, Endpoints], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = "tests.doubles.program_engine:ProgramUnderMocksEngine"
    use_sandbox(monkeypatch, sandbox[1], tmp_path / "state", engine)
    clone = tmp_path / "clone"
    copy_projects(clone / "infrastructure" / "pulumi")
    monkeypatch.chdir(clone)

    report = lambda_provisioning(params(Path("infrastructure/pulumi")))

    assert report.outcome == "provisioned", report.error
    (rollout,) = [r for r in Ledger.of(tmp_path / "state").records() if r.get("step") == "rollout"]
    recorded = Path(rollout["target"]["backend_dir"])
    assert recorded.is_absolute() and recorded == clone / "infrastructure" / "pulumi" / "backend"
