"""Chaos and secret-hygiene suites: seeded, bounded, loopback only."""

import os

#: ORCHESTRA_SOAK=1 (`make chaos`): every combination, not the share `make test` runs.
SOAK = os.environ.get("ORCHESTRA_SOAK") == "1"
