"""The Vercel emulator: a stateful API on loopback and an edge that serves deployments.

Roles: ``state`` (records and lifecycle), ``projects`` / ``envs`` / ``deployments``
(operations), ``render`` (JSON views), ``app`` and ``deployment_routes`` (routes, auth,
envelopes), ``limits`` (rate limit and 429 headers), ``routing`` (pure vercel.json
routing), ``edge`` (the edge server) and ``emulator`` (:class:`VercelEmulator`).
"""

from __future__ import annotations

from orchestra_ops.sandbox.vercel.emulator import VERCEL_SANDBOX_TOKEN, VercelEmulator

__all__ = ["VERCEL_SANDBOX_TOKEN", "VercelEmulator"]
