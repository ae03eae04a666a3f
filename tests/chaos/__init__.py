"""Chaos and secret-hygiene suites: seeded, bounded, loopback only."""
