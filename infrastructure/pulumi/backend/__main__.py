"""Entry point of the orchestra-backend project; the program is orchestra_ops.programs.backend."""

from __future__ import annotations

from orchestra_ops.programs.backend import program

program()
