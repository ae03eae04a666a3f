"""Work-pool bootstrap, deployment helpers and the REST trigger client."""
