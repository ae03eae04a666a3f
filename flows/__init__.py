"""Prefect @flow functions: orchestration only, no HTTP or subprocess code."""
