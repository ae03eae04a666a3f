"""What `orchestra-ops doctor` reports: credentials set or not, tools present or not, the
API URLs in effect, and the settings that cannot work (problems) or may not mean what
was meant (warnings).

Pure: the tool probes and the stack-engine check come in as data, the report goes out
as lines of text. No secret value is ever part of it; URLs lose any user:password and
query string before they are shown.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestra_ops.domain.redaction import safe_url
from orchestra_ops.domain.security.workflow import product_source_problem
from orchestra_ops.errors import ConfigError
from orchestra_ops.settings import Settings

#: The placeholders an instance's health URL may use (see ``domain.provisioning.health_url``).
HEALTH_PLACEHOLDERS = frozenset({"ip", "port", "instance_id"})
#: Where stacks live with PULUMI_ACCESS_TOKEN set and no PULUMI_BACKEND_URL.
PULUMI_CLOUD = "https://api.pulumi.com"


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


@dataclass(frozen=True)
class Endpoint:
    """One URL (or choice) in effect, under the variable that sets it."""

    env_name: str
    shown: str  # safe to print: no credential, no query string
    note: str = ""


def endpoints(settings: Settings, prefect_api_url: str | None, local_state: str) -> list[Endpoint]:
    """The API URLs and choices in effect; a secret URL is only said to be set.

    ``local_state`` is the ``file://`` backend the engine uses when neither
    PULUMI_ACCESS_TOKEN nor PULUMI_BACKEND_URL is set.
    """
    v, lc, scan = settings.vercel, settings.lambda_cloud, settings.scan

    def url(env_name: str, value: str | None, unset: str, default: str | None = None) -> Endpoint:
        if value is None:
            return Endpoint(env_name, "not set", unset)
        return Endpoint(env_name, safe_url(value), "default" if value == default else "")

    pulumi = settings.pulumi
    if pulumi.access_token is not None:  # Pulumi Cloud, or the service the URL names
        backend = url("PULUMI_BACKEND_URL", pulumi.backend_url or PULUMI_CLOUD, "", PULUMI_CLOUD)
    else:
        backend = url("PULUMI_BACKEND_URL", pulumi.backend_url or local_state, "", local_state)
    return [
        url("VERCEL_API_URL", v.api_url, "", "https://api.vercel.com"),
        url("VERCEL_EDGE_URL", v.edge_url, "deployments are reached at their own hostnames"),
        url("LAMBDA_LABS_API_URL", lc.api_url, "", "https://cloud.lambda.ai"),
        Endpoint("LAMBDA_LABS_HEALTH_URL_TEMPLATE", safe_url(lc.health_url_template)),
        url("ORCHESTRA_OSV_API_URL", scan.osv_api_url, "", "https://api.osv.dev"),
        url("ORCHESTRA_NPM_REGISTRY_URL", scan.npm_registry_url, "", "https://registry.npmjs.org"),
        url("ORCHESTRA_SAFETY_AUTH_SERVER_URL", scan.safety_auth_server_url, "safety's own"),
        backend,
        url("PREFECT_API_URL", prefect_api_url, "a temporary local Prefect server per run"),
        Endpoint(
            "ORCHESTRA_NOTIFY_WEBHOOK_URL",
            "set" if settings.notify.webhook_url is not None else "not set",
            "a secret, never shown" if settings.notify.webhook_url else "no notices are sent",
        ),
        Endpoint("ORCHESTRA_STACK_ENGINE", settings.runtime.stack_engine),
        Endpoint("ORCHESTRA_STATE_DIR", str(settings.runtime.state_dir)),
    ]


def health_template_problem(template: str) -> str | None:
    """Why the instance health-URL template cannot work, or None when it can."""
    name = "LAMBDA_LABS_HEALTH_URL_TEMPLATE"
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as error:  # an unmatched brace
        return f"{name} is not a valid template ({error})"
    unknown = sorted(f"{{{f}}}" for f in fields - HEALTH_PLACEHOLDERS)
    if unknown:
        allowed = ", ".join(f"{{{p}}}" for p in sorted(HEALTH_PLACEHOLDERS))
        return f"{name} uses {', '.join(unknown)}: only {allowed} are filled in"
    sample = template.format(ip="192.0.2.1", port=8000, instance_id="i-1")
    if not sample.startswith(("http://", "https://")) or not urlsplit(sample).hostname:
        return (
            f"{name} does not make an http:// or https:// URL (e.g. http://{{ip}}:{{port}}/health)"
        )
    if not fields & {"ip", "instance_id"}:
        return f"{name} names no instance ({{ip}} or {{instance_id}}): all would probe one URL"
    return None


def org_id_warning(org_id: str | None) -> str | None:
    """A VERCEL_ORG_ID that is not a team id (``team_…``) makes calls act for a user."""
    if org_id is None or org_id.startswith("team_"):
        return None
    return (
        "VERCEL_ORG_ID is not a team id (team_…): it is taken as a personal "
        "account's user id and no teamId is sent, so a team's projects are not found; if "
        "the projects belong to a team, set the team's id (Team Settings → Team ID)"
    )


@dataclass(frozen=True)
class Findings:
    """Problems (a setting that cannot work: doctor exits 1) and warnings (it may not mean
    what was meant)."""

    problems: list[str]
    warnings: list[str]


def _generated_files_problem(settings: Settings) -> str | None:
    """What is wrong with the generated-files settings (read only here and where used)."""
    try:
        generated = settings.generated
    except ConfigError as error:
        return str(error)
    return product_source_problem(
        generated.workflow_product_git_url, generated.workflow_product_commit
    )


def check_settings(settings: Settings, *checked: str | None) -> Findings:
    """Every setting doctor can judge without calling an API; ``checked`` are the problems
    of the checks the caller ran (the stack engine's import, the state directory's files)."""
    problems = [
        p
        for p in (
            *checked,
            health_template_problem(settings.lambda_cloud.health_url_template),
            _generated_files_problem(settings),
        )
        if p
    ]
    warnings = [w for w in (org_id_warning(settings.vercel.org_id),) if w]
    return Findings(problems, warnings)


def render_report(
    credentials: list[CredentialStatus],
    tools: list[ToolStatus],
    in_effect: list[Endpoint] | None = None,
    findings: Findings | None = None,
) -> list[str]:
    """The doctor report as lines: never a credential value, only set / not set."""
    lines = ["Credentials (values are never shown):"]
    for cred in credentials:
        mark = "set    " if cred.is_set else "not set"
        lines.append(f"  {cred.env_name:<30} {mark}  {cred.needed_for}")
    if in_effect:
        lines.append("In effect:")
        for end in in_effect:
            note = f"  ({end.note})" if end.note else ""
            lines.append(f"  {end.env_name:<32} {end.shown}{note}")
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
    if findings is not None:
        lines += [f"WARNING: {w}" for w in findings.warnings]
        lines += [f"PROBLEM: {p}" for p in findings.problems]
        lines.append(
            f"{len(findings.problems)} problem(s): fix them before running the flows."
            if findings.problems
            else "No problem found in the settings."
        )
    return lines
