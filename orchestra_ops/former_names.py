"""Former module names that data and files outside this package still use.

Stack state pickles each dynamic provider by module and class name, and a Pulumi project's
``__main__.py`` imports its program by module name. Both were written as
``orchestra_ops.provider.*`` and ``orchestra_ops.programs.*`` before the Pulumi code moved
into :mod:`orchestra_ops.adapters.pulumi`; the packages of those names alias the modules
they became, so such state still loads and such an entry point still runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType

PROGRAMS = "orchestra_ops.programs"
"""Where the programs lived; an entry point importing from here runs the same program."""
MOVED_PROGRAMS = "orchestra_ops.adapters.pulumi.programs"


def alias(former_package: str, modules: Iterable[ModuleType]) -> None:
    """Make ``former_package.<name>`` the same module object as each module of that name."""
    for module in modules:
        sys.modules[f"{former_package}.{module.__name__.rsplit('.', 1)[1]}"] = module


def former_program_module(module: str) -> str:
    """The name a program module had before the move (``orchestra_ops.programs.backend``)."""
    return PROGRAMS + module.removeprefix(MOVED_PROGRAMS)
