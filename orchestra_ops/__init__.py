"""Orchestra Ops: the Orchestra AI roadmap as dependent, self-healing Prefect DAGs."""

__version__ = "0.1.0"
