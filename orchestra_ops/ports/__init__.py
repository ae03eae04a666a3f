"""Ports: the ``typing.Protocol`` s flows depend on, in domain types only.

One module per provider; adapters implement them, fakes in tests subclass nothing and
just match the shape.
"""
