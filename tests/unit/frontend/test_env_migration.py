"""Env-var migration: reading Docker/dotenv files, classifying, targeting, diffing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestra_ops.domain.frontend.detect import Framework
from orchestra_ops.domain.frontend.env_plan import Change, diff_env, plan_env
from orchestra_ops.domain.frontend.env_sources import (
    FoundVar,
    parse_compose,
    parse_dockerfile,
    parse_dotenv,
)
from orchestra_ops.domain.vercel import EnvTarget, EnvType, EnvVar
from orchestra_ops.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "orchestra-main"
CANARY = "canary-5e1d-DO-NOT-LEAK"


def _dashboard_vars() -> list[FoundVar]:
    root = EXAMPLE / "dashboard"
    return [
        *parse_dockerfile((root / "Dockerfile").read_text(), "dashboard/Dockerfile"),
        *parse_compose((root / "docker-compose.yml").read_text(), "dashboard/docker-compose.yml"),
    ]


def test_dockerfile_args_envs_references_and_continuations() -> None:
    """ENV X=$X takes the ARG's default; legacy `ENV K v` and continuations parse."""
    text = (
        "ARG API=https://api.example.com\n"
        "ARG TOKEN\n"
        'ENV API=$API TITLE="Orchestra Admin" \\\n'
        "    TOKEN=${TOKEN}\n"
        "ENV LEGACY some value\n"
    )
    found = {(v.key, v.line): v.value for v in parse_dockerfile(text, "Dockerfile")}
    assert found[("API", 3)] == "https://api.example.com"
    assert found[("TITLE", 3)] == "Orchestra Admin"
    assert found[("TOKEN", 3)] is None
    assert found[("LEGACY", 5)] == "some value"


def test_compose_reads_only_services_this_repo_builds() -> None:
    """The dashboard's variables are read; the postgres container's are not."""
    keys = {v.key for v in _dashboard_vars()}
    assert {"DATABASE_URL", "NEXTAUTH_SECRET", "NEXTAUTH_URL", "CUSTOM_KEY"} <= keys
    assert not keys & {"POSTGRES_PASSWORD", "POSTGRES_USER"}


def test_dotenv_quotes_export_comments_and_empties() -> None:
    """Common .env syntax; an empty value is a missing value."""
    text = "# c\nexport A='x y'\nB=\"q\"\nC=plain # trailing\nD=\n"
    assert [(v.key, v.value) for v in parse_dotenv(text, ".env")] == [
        ("A", "x y"),
        ("B", "q"),
        ("C", "plain"),
        ("D", None),
    ]


@pytest.mark.parametrize(
    ("parser", "text", "fragment"),
    [
        (parse_dotenv, "A=1\nnot a pair\n", ".env:2: expected KEY=value"),
        (parse_dockerfile, "ENV 9BAD=1\n", "Dockerfile:1: '9BAD' is not a valid variable name"),
        (parse_dockerfile, 'ENV A="unterminated\n', "Dockerfile:1: cannot parse ENV"),
        (parse_compose, "services: [\n", "docker-compose.yml:2: not valid YAML"),
        (parse_compose, "version: '3'\n", "docker-compose.yml: no services mapping"),
    ],
)
def test_malformed_files_name_file_and_line(parser: object, text: str, fragment: str) -> None:
    """Each parser's errors point at the file and line."""
    source = ".env" if parser is parse_dotenv else "docker-compose.yml"
    source = "Dockerfile" if parser is parse_dockerfile else source
    with pytest.raises(ConfigError) as caught:
        parser(text, source)  # type: ignore[operator]
    assert fragment in str(caught.value)


def test_dashboard_plan_classifies_targets_and_warns() -> None:
    """Secrets are sensitive (no development target), public vars plain, plumbing skipped."""
    plan = plan_env(
        Framework.NEXTJS,
        _dashboard_vars(),
        {"NEXT_PUBLIC_API_URL": "https://api.example.com", "NEXTAUTH_SECRET": CANARY},
    )
    by_key = {v.key: v for v in plan.variables}
    assert by_key["NEXTAUTH_SECRET"].type is EnvType.SENSITIVE
    assert by_key["NEXTAUTH_SECRET"].targets == (EnvTarget.PRODUCTION, EnvTarget.PREVIEW)
    assert by_key["NEXT_PUBLIC_API_URL"].type is EnvType.PLAIN
    assert by_key["NEXT_PUBLIC_API_URL"].value.get_secret_value() == "https://api.example.com"
    assert EnvTarget.DEVELOPMENT in by_key["NEXTAUTH_URL"].targets
    assert dict(plan.skipped).keys() == {"NODE_ENV", "PORT", "HOSTNAME", "NEXT_TELEMETRY_DISABLED"}
    missing = dict(plan.missing)
    assert set(missing) == {"CUSTOM_KEY", "DATABASE_URL"}  # placeholders are not migrated
    assert "dashboard/docker-compose.yml:9" in missing["CUSTOM_KEY"]
    assert any("NEXTAUTH_URL points at localhost" in w for w in plan.warnings)
    assert CANARY not in repr(plan)


def test_public_secret_and_wrong_prefix_warnings() -> None:
    """VITE_ADMIN_API_KEY is a leak waiting to happen; NEXT_PUBLIC_ means nothing to Vite."""
    found = [
        FoundVar("VITE_ADMIN_API_KEY", "k-123", ".env", 1),
        FoundVar("NEXT_PUBLIC_X", "1", ".env", 2),
    ]
    plan = plan_env(Framework.VITE, found)
    assert any("VITE_ADMIN_API_KEY looks secret" in w for w in plan.warnings)
    assert any("NEXT_PUBLIC_X has the NEXT_PUBLIC_ prefix" in w for w in plan.warnings)


def test_value_precedence_and_example_files_give_no_values() -> None:
    """.env.production beats compose beats Dockerfile; .env.example never supplies a value."""
    found = [
        FoundVar("A", "docker", "app/Dockerfile", 1),
        FoundVar("A", "compose", "app/docker-compose.yml", 1),
        FoundVar("A", "prod", "app/.env.production", 1),
        FoundVar("B", "example", "app/.env.example", 1),
    ]
    plan = plan_env(Framework.VITE, found)
    assert [(v.key, v.value.get_secret_value()) for v in plan.variables] == [("A", "prod")]
    assert [key for key, _ in plan.missing] == ["B"]


def test_diff_against_current_env_masks_values() -> None:
    """Added, changed, unchanged, unreadable and Vercel-only rows; secrets never shown."""
    plan = plan_env(
        Framework.VITE,
        [],
        {"VITE_TITLE": "Admin", "API_TOKEN": CANARY, "VITE_API_URL": "https://new"},
    )
    current = [
        EnvVar("VITE_TITLE", SecretStr("Admin"), EnvType.PLAIN, (EnvTarget.PRODUCTION,)),
        EnvVar("VITE_API_URL", SecretStr("https://old"), EnvType.PLAIN, (EnvTarget.PRODUCTION,)),
        EnvVar("API_TOKEN", None, EnvType.SENSITIVE, (EnvTarget.PRODUCTION,)),
        EnvVar("LEGACY", SecretStr("x"), EnvType.ENCRYPTED, (EnvTarget.PREVIEW,)),
    ]
    rows = {(r.key, r.target): r for r in diff_env(plan, current)}
    production = EnvTarget.PRODUCTION
    assert rows[("VITE_TITLE", production)].change is Change.UNCHANGED
    assert rows[("VITE_API_URL", production)].change is Change.CHANGED
    assert rows[("VITE_API_URL", production)].shown_value == "https://new"
    assert rows[("API_TOKEN", production)].change is Change.OVERWRITTEN
    assert rows[("API_TOKEN", EnvTarget.PREVIEW)].change is Change.ADDED
    assert rows[("LEGACY", EnvTarget.PREVIEW)].change is Change.ONLY_ON_VERCEL
    assert all(CANARY not in r.shown_value for r in rows.values())
    assert rows[("API_TOKEN", production)].shown_value == "<sensitive>"


def test_a_localhost_value_the_code_reads_refuses_the_plan_until_overridden() -> None:
    """Found on fastapi/full-stack-fastapi-template: frontend/.env's localhost API URL was
    planned for production with only a warning; a localhost value nothing reads stays a
    warning."""
    from orchestra_ops.domain.frontend.migration import plan_migration, plan_summary, refusal

    texts = {
        "package.json": '{"name": "web", "scripts": {"build": "vite build"}, '
        '"dependencies": {"vite": "5.0.0"}}',
        ".env": "VITE_API_URL=http://localhost:8000\nVITE_DOCS=http://127.0.0.1:9000\n",
        "src/api.ts": "export const api = import.meta.env.VITE_API_URL ?? ''\n",
    }
    plan = plan_migration("web", texts, "https://api.example.com", [], {})
    why = refusal(plan)
    assert why is not None and "name this machine (localhost)" in why
    assert "VITE_API_URL (web/.env:1)" in why and "VITE_DOCS" not in why
    assert "names this machine (localhost): VITE_API_URL (web/.env:1)" in plan_summary(plan)

    given = plan_migration(
        "web", texts, "https://api.example.com", [], {"VITE_API_URL": "https://api.example.com"}
    )
    assert refusal(given) is None
    assert any("VITE_DOCS points at localhost" in w for w in given.env.warnings)
