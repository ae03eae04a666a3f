"""Prefect @task wrappers: one side effect each, with retries, cache policy and timeouts."""
