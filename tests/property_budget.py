"""How many examples a property test draws.

`make test` draws the full count each test asks for; `make test-fast` (the inner loop)
sets FAST_PROPERTIES=1 and draws a fifth of it, at least ten, so the properties still run
on every save without holding the loop up.
"""

from __future__ import annotations

import os

FAST = os.environ.get("FAST_PROPERTIES") == "1"


def examples(full: int) -> int:
    """The number of examples to draw where the full run draws ``full``."""
    return max(10, full // 5) if FAST else full
