"""Deploying a release, decided without Vercel: adoption and waiting, on an in-memory fake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from orchestra_ops.domain.vercel import (
    Deployment,
    DeploymentEvent,
    DeploymentId,
    DeploymentState,
    ProjectId,
    ProjectSettings,
)
from orchestra_ops.errors import DeploymentFailed
from orchestra_ops.frontend_deploy import DIGEST_META, adoptable, deploy_release, wait_ready

READY, BUILDING, ERROR = DeploymentState.READY, DeploymentState.BUILDING, DeploymentState.ERROR


def deployment(
    n: int, state: DeploymentState, digest: str = "d1", *, alias: bool = True, error: str = ""
) -> Deployment:
    return Deployment(
        DeploymentId(f"dpl_{n}"),
        f"web-{n}.vercel.app",
        "web",
        ProjectId("prj_1"),
        state,
        None,
        alias_assigned=alias,
        created_at=n,
        error_message=error or None,
        meta={DIGEST_META: digest},
    )


class ScriptedVercel:
    """Answers get_deployment from a script, one state per poll; records what it was asked."""

    def __init__(self, script: list[Deployment], events: tuple[str, ...] = ()) -> None:
        self.script = script
        self.events = list(events)
        self.created: list[dict[str, Any]] = []

    def get_deployment(self, id_or_url: str) -> Deployment:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def deployment_events(self, deployment_id: DeploymentId) -> list[DeploymentEvent]:
        return [DeploymentEvent("stdout", i, deployment_id, s) for i, s in enumerate(self.events)]

    def create_deployment(
        self, name: str, files: Mapping[str, bytes], **options: Any
    ) -> Deployment:
        self.created.append({"name": name, "files": dict(files), **options})
        return deployment(99, BUILDING, options["meta"][DIGEST_META])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_same_source_on_its_way_is_adopted_an_ended_one_is_not() -> None:
    failed, building, other = (
        deployment(1, ERROR),
        deployment(2, BUILDING),
        deployment(3, READY, "d2"),
    )
    assert adoptable([failed, other, building], "d1") == building
    assert adoptable([failed, other], "d1") is None


def test_deploy_release_creates_only_when_nothing_is_adoptable() -> None:
    vercel = ScriptedVercel([])
    settings = ProjectSettings(framework="vite")
    kept, adopted = deploy_release(
        vercel, "web", {"a": b"1"}, settings, "d1", [deployment(5, READY)]
    )
    assert (kept.id, adopted, vercel.created) == ("dpl_5", True, [])

    made, adopted = deploy_release(
        vercel, "web", {"a": b"1"}, settings, "d9", [deployment(5, READY)]
    )
    assert (made.id, adopted) == ("dpl_99", False)
    assert vercel.created == [
        {
            "name": "web",
            "files": {"a": b"1"},
            "project_settings": settings,
            "meta": {DIGEST_META: "d9"},
        }
    ]


def test_waiting_ends_when_ready_with_its_alias_and_shows_each_milestone() -> None:
    script = [deployment(1, BUILDING), deployment(1, READY, alias=False), deployment(1, READY)]
    clock, shown = Clock(), []
    ready = wait_ready(
        ScriptedVercel(script),
        DeploymentId("dpl_1"),
        60,
        2,
        show=lambda p, what: shown.append((p, what.rsplit(": ", 1)[1])),
        sleep=clock.sleep,
        clock=clock,
    )
    assert ready.state is READY and ready.alias_assigned
    assert [what for _, what in shown] == ["building", "ready", "ready, alias assigned"]
    assert shown[-1][0] == 100 and clock.now == 4


def test_a_failed_build_names_its_error_or_else_the_log_tail() -> None:
    with pytest.raises(DeploymentFailed, match="dpl_1 ended in ERROR: npm run build exited 1"):
        wait_ready(
            ScriptedVercel([deployment(1, ERROR, error="npm run build exited 1")]),
            DeploymentId("dpl_1"),
            60,
        )
    log = [f"line {n}" for n in range(8)]
    with pytest.raises(DeploymentFailed, match=r"ERROR: line 3 \| line 4 \| .* \| line 7$"):
        wait_ready(ScriptedVercel([deployment(1, ERROR)], tuple(log)), DeploymentId("dpl_1"), 60)


def test_a_build_that_outlasts_the_timeout_says_so() -> None:
    clock = Clock()
    with pytest.raises(DeploymentFailed, match="dpl_1 ended in BUILDING: not ready in 10 s"):
        wait_ready(
            ScriptedVercel([deployment(1, BUILDING)]),
            DeploymentId("dpl_1"),
            10,
            3,
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.now == 12  # polled at 0, 3, 6, 9, 12: past the deadline, it stops
