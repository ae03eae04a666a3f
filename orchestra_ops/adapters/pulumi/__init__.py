"""The Pulumi wing: everything that speaks Pulumi, in one place.

- ``engine``: the :class:`~orchestra_ops.ports.stack_engine.StackEngine` over the Pulumi
  CLI (Automation API), with ``backend`` (where state lives, its passphrase and owner id),
  ``locks`` (stale update locks) and ``pending`` (what a killed update left open);
- ``state``: the :class:`~orchestra_ops.ports.stack_state.StateMigrator` over the CLI;
- ``ci``: the Pulumi projects of a repository, for the generated CI workflow;
- ``programs``: the programs of ``infrastructure/pulumi/*``, run inline by the engine;
- ``provider``: the Lambda Cloud dynamic providers those programs register.

What the programs read from a stack's config is parsed in the domain
(:mod:`orchestra_ops.domain.stack_config`).
"""
