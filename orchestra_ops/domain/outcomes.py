"""How a run of a track ended, as its report and its artifacts say it: one vocabulary."""

from __future__ import annotations

from enum import StrEnum


class PhaseState(StrEnum):
    """How a phase of the roadmap, and the roadmap itself, ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class RunOutcome(StrEnum):
    """The outcome a track's report carries (serialised as its value)."""

    PLANNED = "planned"
    NOTHING_TO_DO = "nothing to do"
    REFUSED = "refused"
    MIGRATED = "migrated"
    PROVISIONED = "provisioned"
    APPLIED = "applied"
    STATE_MIGRATION_PENDING = "state migration pending"
    UNFINISHED = "unfinished"
    FAILED_BEFORE_PROMOTION = "failed-before-promotion"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
