"""Deploy the checkout's commit: ``python -m deployments.source COMMAND...`` (``make deploy``).

Finds the commit and the repository every run of the deployments will clone (see
:mod:`orchestra_ops.adapters.git_source`), says which, and runs COMMAND (``prefect deploy``)
with ``ORCHESTRA_GIT_REPOSITORY`` and ``ORCHESTRA_GIT_COMMIT`` set, which the pull step of
``prefect.yaml`` is filled from. ``ORCHESTRA_GIT_REPOSITORY`` set beforehand names another
URL than the checkout's ``origin`` (a mirror the workers reach). Exit code 2, with one
line on stderr, when the checkout cannot be deployed; otherwise COMMAND's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from orchestra_ops.adapters.git_source import deployed_source
from orchestra_ops.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    """Check the checkout in the working directory, then run the command after it."""
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        print("usage: python -m deployments.source COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        source = deployed_source(Path.cwd(), os.environ.get("ORCHESTRA_GIT_REPOSITORY") or None)
    except ConfigError as error:
        print(f"cannot deploy: {error}", file=sys.stderr)
        return 2
    print(f"deploying commit {source.commit} of {source.repository}", flush=True)
    # Replaced by the command, as make runs it: its output and exit code are the step's.
    os.execvpe(command[0], command, {**os.environ, **source.as_environment()})  # noqa: S606


if __name__ == "__main__":
    sys.exit(main())
