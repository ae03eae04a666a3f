"""What `orchestra-ops doctor` reports: credentials set or not, tools present or not.

Pure: the tool probes come in as data, the report goes out as lines of text.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestra_ops.settings import Settings


@dataclass(frozen=True)
class ToolStatus:
    """One external tool: its version when found, and what its absence disables."""

    name: str
    version: str | None
    disables: str
    install_hint: str

    @property
    def present(self) -> bool:
        """True when the tool was found and answered with a version."""
        return self.version is not None


@dataclass(frozen=True)
class CredentialStatus:
    """One credential or identifier: whether it is set (its value is never kept)."""

    env_name: str
    is_set: bool
    needed_for: str


def credential_statuses(settings: Settings) -> list[CredentialStatus]:
    """The roadmap plan's environment secrets, each marked set or unset."""
    v, lc, p = settings.vercel, settings.lambda_cloud, settings.pulumi
    return [
        CredentialStatus("VERCEL_TOKEN", v.token is not None, "frontend migration (track 1)"),
        CredentialStatus("VERCEL_ORG_ID", v.org_id is not None, "team-scoped Vercel calls"),
        CredentialStatus(
            "VERCEL_ADMIN_PROJECT_ID", v.admin_project_id is not None, "admin interface deploy"
        ),
        CredentialStatus(
            "VERCEL_DASHBOARD_PROJECT_ID", v.dashboard_project_id is not None, "dashboard deploy"
        ),
        CredentialStatus(
            "LAMBDA_LABS_API_KEY", lc.api_key is not None, "Lambda Labs provisioning (track 2)"
        ),
        CredentialStatus(
            "LAMBDA_LABS_SSH_KEY_NAME", lc.ssh_key_name is not None, "instance launches"
        ),
        CredentialStatus(
            "PULUMI_ACCESS_TOKEN",
            p.access_token is not None,
            "Pulumi Cloud state (not needed with PULUMI_BACKEND_URL=file://...)",
        ),
    ]


def render_report(credentials: list[CredentialStatus], tools: list[ToolStatus]) -> list[str]:
    """The doctor report as lines: never a credential value, only set / not set."""
    lines = ["Credentials (values are never shown):"]
    for cred in credentials:
        mark = "set    " if cred.is_set else "not set"
        lines.append(f"  {cred.env_name:<30} {mark}  {cred.needed_for}")
    lines.append("Tools:")
    for tool in tools:
        if tool.present:
            lines.append(f"  {tool.name:<12} {tool.version}")
        else:
            lines.append(
                f"  {tool.name:<12} MISSING: disables {tool.disables}. {tool.install_hint}"
            )
    missing = [t.name for t in tools if not t.present]
    if missing:
        lines.append("Missing: " + ", ".join(missing) + " (see above for what each disables).")
    else:
        lines.append("All tools present.")
    return lines
