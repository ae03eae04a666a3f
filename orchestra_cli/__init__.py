"""The entry points: the `orchestra-ops` command and the sandbox demo.

They compose the layers below them (`flows`, `tasks`, and the `orchestra_ops` library),
so the arrows run one way: `orchestra_cli -> flows -> tasks -> orchestra_ops`.
"""
