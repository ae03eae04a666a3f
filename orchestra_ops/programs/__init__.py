"""The Pulumi programs of ``infrastructure/pulumi/*``, as importable functions.

Each project's ``__main__.py`` only calls ``program()``; tests call the same functions
under ``pulumi.runtime.set_mocks``.
"""
