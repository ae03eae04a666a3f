"""A Lambda Cloud API emulator (spec 1.8.3, ``cloud-api-contracts.md`` section A).

Modules by role: ``catalog`` (types, regions, images, default capacity), ``records`` and
``resources`` (the objects), ``validation`` (request bodies), ``state`` (the account
behind one lock), ``app`` (routes, auth, envelopes), ``instances_net`` (per-instance
health servers), ``emulator`` (the class tests and the sandbox use).

Choices where the contract is silent (all emulator-made, none claimed as upstream):

- Rate limit: off by default. With ``launch_rate_limit_s`` set, a launch request within
  that many seconds of the last accepted one answers **429** with ``Retry-After`` (whole
  seconds, rounded up) and ``{"error": {"code": "sandbox/rate-limited", ...}}``; the
  ``sandbox/`` prefix marks the code as ours, since the real 429 body is unverified. The
  window counts launch requests that passed auth and the limiter, valid or not.
- Termination: ``terminating`` until the clock passes ``boot_delay_s`` after the call,
  then ``terminated``. Terminated instances leave the list **and** answer 404 on get, as
  upstream soon does; there is no grace period in which they stay gettable.
- Restart puts an instance back to ``booting`` for ``boot_delay_s`` (its health server
  stops meanwhile); restarting a terminating instance is 400 invalid-parameters.
- ``cluster_id`` on GET /instances is accepted and ignored (no clusters here).
- Unknown fields in a launch body are 400 invalid-parameters (catches client typos);
  ``quantity`` is optional (default 1).
- Deleting an unknown SSH key answers **400** ``global/object-does-not-exist`` (the spec
  lists no 404 for that route). ``ssh-keys/key-in-use`` is never produced.
- Names: SSH keys and filesystems are unique in the account, rulesets within a region;
  a duplicate is 400 ``global/duplicate``. 409 only comes from injected faults.
- Firewall rulesets render as ``{id, name, region, rules, created}``; ``/firewall-rules``
  and the global ruleset share one list of rules.
- Generated SSH keys are random bytes shaped like OpenSSH keys, not usable keys.
- GET ``/audit-events`` is not emulated (404).
- Injected faults answer in Lambda's envelope: 500 and 409 ``global/internal-error``,
  502/503/504 ``provider/internal-unavailable``, 429 ``sandbox/rate-limited``.
"""

from __future__ import annotations

from orchestra_ops.sandbox.lambda_cloud.emulator import DEFAULT_API_KEY, LambdaCloudEmulator

__all__ = ["DEFAULT_API_KEY", "LambdaCloudEmulator"]
