"""The former name of :mod:`orchestra_ops.adapters.pulumi.programs`, kept for entry points.

A project's ``__main__.py`` written before the move imports
``from orchestra_ops.programs.backend import program`` (see
:mod:`orchestra_ops.former_names`); the engine accepts it, and a CLI-driven ``pulumi up``
still runs it. Nothing new imports from here.
"""

from __future__ import annotations

from orchestra_ops.adapters.pulumi.programs import backend, shared
from orchestra_ops.former_names import alias

alias(__name__, (backend, shared))
