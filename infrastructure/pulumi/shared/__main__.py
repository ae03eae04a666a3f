"""Entry point of the orchestra-shared project; the program is orchestra_ops.programs.shared."""

from __future__ import annotations

from orchestra_ops.programs.shared import program

program()
