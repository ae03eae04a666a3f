"""Vendored JSON schemas (data files; see README.md for sources and licences)."""
