"""Entry point of the orchestra-backend project.

The program is orchestra_ops.adapters.pulumi.programs.backend.

The engine (orchestra_ops/adapters/pulumi/engine.py) runs that program inline and checks
that this file imports and calls it; only a CLI-driven `pulumi up` here executes this file
(it needs the pulumi-language-python host, which `make pulumi` does not build).
"""

from __future__ import annotations

from orchestra_ops.adapters.pulumi.programs.backend import program

program()
