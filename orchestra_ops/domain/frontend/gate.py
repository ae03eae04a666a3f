"""What a frontend release's health gate probes, and what it must see there.

A gate proves the served bytes are the release, not merely that something answers 200:

- the index (``/``) of the deployment's own immutable URL is probed first; when its
  bytes are the same on every good probe they become the release's *fingerprint*;
- production must then serve exactly that fingerprint at ``/`` (a maintenance page, an
  old release or an edge error page fails);
- every API prefix the app's rewrites send to the backend is probed through the
  rewrite (``<prefix>/<api_probe>``): it must answer 2xx/3xx and must not be the
  app's own index page (the SPA fallback swallowing ``/api/*``).

A page that differs on every request (server-rendered with a nonce) has no fingerprint;
the gate then says so instead of pretending it checked the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from orchestra_ops.domain.health import HealthPolicy


@dataclass(frozen=True)
class GateCheck:
    """One URL of a gate and the policy it must pass."""

    what: str
    url: str
    policy: HealthPolicy


def index_check(
    base_url: str, policy: HealthPolicy, fingerprint: str | None, site_path: str = ""
) -> GateCheck:
    """``/`` of ``base_url`` (``{site_path}/`` for a Next.js ``basePath``); with a
    fingerprint, exactly the release's bytes."""
    what = "index" if fingerprint is None else f"index is the release ({fingerprint[:12]})"
    url = base_url.rstrip("/") + site_path.rstrip("/") + "/"
    return GateCheck(what, url, replace(policy, expect_digest=fingerprint))


def api_checks(
    base_url: str,
    policy: HealthPolicy,
    prefixes: tuple[str, ...],
    api_probe: str | None,
    fingerprint: str | None,
) -> list[GateCheck]:
    """One check per API prefix, through the rewrite; none when ``api_probe`` is None."""
    if api_probe is None:
        return []
    base = base_url.rstrip("/")
    api_policy = replace(policy, body_marker=None, expect_digest=None, reject_digest=fingerprint)
    return [
        GateCheck(
            f"API route {prefix} through the rewrite",
            f"{base}/{prefix.strip('/')}/{api_probe.lstrip('/')}",
            api_policy,
        )
        for prefix in prefixes
    ]


def unchecked(
    prefixes: tuple[str, ...], api_probe: str | None, fingerprint: str | None
) -> list[str]:
    """What a gate with these inputs could not check, in words for the report."""
    notes = []
    if fingerprint is None:
        notes.append("the index differs on every request: production bytes not compared")
    if api_probe is None and prefixes:
        notes.append(f"API routes {', '.join(prefixes)} not probed (api_probe unset)")
    return notes


@dataclass(frozen=True)
class GateResult:
    """A passed gate: what each check saw, and the release fingerprint it learned."""

    fingerprint: str | None
    lines: tuple[str, ...]
