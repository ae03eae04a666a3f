"""Prefect reads ./.env itself, in every process, and warns once per bad line for each of
its settings models (hundreds of lines). The command checks that file once, first."""

from __future__ import annotations

import logging
from pathlib import Path

from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import check_env_file

PREFECT_ENV_FILE = Path(".env")


def check_prefect_env_file(ours: Path | None = None) -> None:
    """ConfigError when ./.env (read by Prefect) has lines that are no binding; the file we
    read ourselves (``ours``) is checked where it is loaded. Prefect's own warnings about
    it are silenced: this says it once."""
    logging.getLogger("dotenv.main").setLevel(logging.ERROR)
    if ours is not None and ours.resolve() == PREFECT_ENV_FILE.resolve():
        return
    try:
        check_env_file(PREFECT_ENV_FILE)
    except ConfigError as error:
        raise ConfigError(f"{error} (Prefect reads ./.env too)", source=error.source) from None
