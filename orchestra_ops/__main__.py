"""`python -m orchestra_ops` runs the CLI."""

from orchestra_ops.cli import main

main()
