"""`python -m orchestra_cli` runs the CLI."""

from orchestra_cli.app import main

main()
