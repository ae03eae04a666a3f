"""Adapters: every piece of I/O (HTTP, subprocesses, files, git), behind the ports."""
