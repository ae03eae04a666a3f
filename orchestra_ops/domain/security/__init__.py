"""Dependency security: one finding model, severity, deduplication and the policy."""
