"""Roadmap figures from measured phase durations: the critical-path lower bound of B1.

Pure: durations come in as numbers, nothing here times or runs anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# The phase DAG of flows/roadmap.py: 1C starts once 1A and 1B are both live; 2A
# provisions dev then prod, and 2B and 2C follow 2A; weeks 1, 2 and 3 are independent.
# Keep the two in step: bench/roadmap.py refuses a phase it does not find here.
_DEV, _PROD = "2A lambda dev", "2A lambda prod"
ROADMAP_PREREQUISITES: Mapping[str, tuple[str, ...]] = {
    "1A admin interface": (),
    "1B dashboard": (),
    "1C deploy workflow": ("1A admin interface", "1B dashboard"),
    _DEV: (),
    _PROD: (_DEV,),
    "2B infrastructure workflow": (_DEV, _PROD),
    "2C state backup": (_DEV, _PROD),
    "3A-3C dependency security": (),
    "4A-4C pulumi reorganisation": (),
}


def critical_path_s(
    durations: Mapping[str, float],
    prerequisites: Mapping[str, Sequence[str]] = ROADMAP_PREREQUISITES,
) -> float:
    """The longest dependency chain of ``durations``: no schedule of these phases ends sooner.

    Only the phases in ``durations`` count (a run need not have every phase of the
    structure); a phase absent from ``prerequisites`` has none. Raises ``ValueError`` on a negative
    duration, a prerequisite without a measured duration, or a dependency cycle.
    """
    for name, seconds in durations.items():
        if seconds < 0:
            raise ValueError(
                f"phase {name!r} has a negative duration ({seconds}); pass seconds >= 0"
            )
    finish: dict[str, float] = {}

    def end(name: str, chain: tuple[str, ...]) -> float:
        if name in finish:
            return finish[name]
        if name in chain:
            raise ValueError(f"the phase dependencies form a cycle: {' -> '.join((*chain, name))}")
        if name not in durations:
            raise ValueError(
                f"phase {name!r} is a prerequisite of {chain[-1]!r} but has no duration"
            )
        after = (end(before, (*chain, name)) for before in prerequisites.get(name, ()))
        finish[name] = max(after, default=0.0) + durations[name]
        return finish[name]

    return max((end(name, ()) for name in durations), default=0.0)
