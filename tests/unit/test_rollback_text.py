"""What a provisioning rollback says it did with the abandoned colour's instances."""

from __future__ import annotations

from orchestra_ops.domain.provisioning import terminated_step


def test_none_left_running_is_said_in_words() -> None:
    assert terminated_step("blue", 0) == "no blue instance was left running"


def test_instances_still_running_are_said_terminated() -> None:
    said = terminated_step("green", 2)
    assert said == "2 green instance(s) still running were terminated through the API"
