"""Pure domain logic: models and decisions, no I/O and no Prefect import."""
