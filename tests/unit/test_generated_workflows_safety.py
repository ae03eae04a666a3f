"""Every generated GitHub workflow installs only pinned things, writes only where it must
and hands secrets only to the steps that use them (rules in ``workflow_audit``).

``workflow_fixtures/deploy-frontends.step-scoped.yml`` is the next deploy workflow
(secrets scoped to steps, in the job that runs the app's scripts).
``workflow_fixtures/*.before.yml`` are the texts the generators produced before this
review (an unregistered ``pip install 'orchestra-ops'`` in a job that may write security
events, ``npm install --global``, unhashed ``pip install -r``, credentials in job env):
the same checks must find those problems, so the checks can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra_ops.adapters.schema_validation import validate_config
from orchestra_ops.domain.frontend.workflow import deploy_frontends_workflow
from orchestra_ops.domain.infrastructure_workflow import PulumiProject, infrastructure_workflow
from orchestra_ops.domain.security.workflow import ProductSource, security_audit_workflow
from tests.unit import workflow_audit as audit

FIXTURES = Path(__file__).parent / "workflow_fixtures"
PRODUCT = ProductSource(
    "https://github.com/acme/orchestra-ops.git", "0123456789abcdef" * 2 + "0" * 8
)
REQUIREMENTS = ["requirements.txt", "infrastructure/pulumi/requirements.txt"]
NPM = ["admin-interface", "dashboard"]
APPS = {"admin-interface": "VERCEL_ADMIN_PROJECT_ID", "dashboard": "VERCEL_DASHBOARD_PROJECT_ID"}

GENERATED = {
    "security-audit (pinned product)": (
        security_audit_workflow(REQUIREMENTS, NPM, product=PRODUCT),
        "sarif",
    ),
    "security-audit (no product source)": (security_audit_workflow(REQUIREMENTS, NPM), None),
    "deploy-frontends": (deploy_frontends_workflow(APPS), None),
    "infrastructure-ci": (
        infrastructure_workflow(
            [
                PulumiProject("infrastructure/pulumi/shared", "shared", "python", True),
                PulumiProject("web/infra", "web-infra", "nodejs", npm_lock=True),
            ]
        ),
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_workflow_passes_every_check(name: str) -> None:
    """No unpinned install, unknown action, stray write permission or misplaced secret."""
    text, writer = GENERATED[name]
    assert validate_config("github-workflows", audit.load(text)) == []
    assert audit.all_problems(text, allowed_writer=writer) == []


def test_the_checks_find_the_problems_of_the_old_security_workflow() -> None:
    """Ranged pip-audit and the unregistered product name, in the writing job."""
    text = (FIXTURES / "security-audit.before.yml").read_text()
    problems = audit.install_problems(audit.load(text))
    assert any(p.startswith("sarif/") and "pip install" in p for p in problems)
    assert any(p.startswith("pip-audit/") and "pip install" in p for p in problems)
    assert "pip install 'orchestra-ops'" in text
    assert any(p.startswith("sarif/") and "without -P" in p for p in problems)


def test_the_checks_find_the_problems_of_the_old_deploy_workflow() -> None:
    """A global npm install, ids in job env, the token in every script (build included)."""
    document = audit.load((FIXTURES / "deploy-frontends.before.yml").read_text())
    assert any("npm install --global" in p for p in audit.install_problems(document))
    secrets = audit.secret_problems(document)
    assert any("job env gives VERCEL_ORG_ID" in p for p in secrets)
    assert any("vercel build" in p and "interpolated" in p for p in secrets)
    assert any("vercel build" in p for p in audit.isolation_problems(document))


def test_the_checks_find_the_problems_of_the_step_scoped_deploy_workflow() -> None:
    """The next version gave the token to the vercel steps only, but in the job that ran
    `npm ci` (install scripts) and `vercel build` (build scripts) before them: those
    could replace node_modules/.bin/vercel or put a fake node on $GITHUB_PATH. Its
    changes job also looked at HEAD~1 only."""
    text = (FIXTURES / "deploy-frontends.step-scoped.yml").read_text()
    problems = audit.isolation_problems(audit.load(text))
    assert any(p.startswith("deploy-dashboard/") and "npm ci" in p for p in problems)
    assert any(p.startswith("deploy-dashboard/") and "vercel build" in p for p in problems)
    assert audit.secret_problems(audit.load(text)) == []  # what the older checks passed
    assert "git diff --name-only HEAD~1 HEAD" in text


def test_the_checks_find_the_problems_of_the_old_infrastructure_workflow() -> None:
    """Unhashed requirements, an action that installs an unpinned CLI, job-wide secrets."""
    document = audit.load((FIXTURES / "infrastructure-ci.before.yml").read_text())
    problems = audit.install_problems(document)
    assert len([p for p in problems if "--require-hashes" in p]) == 4  # two projects x two jobs
    assert len([p for p in problems if "without -P" in p]) == 4
    assert any("pulumi/actions" in p for p in audit.action_problems(document))
    assert any("PULUMI_ACCESS_TOKEN to every step" in p for p in audit.secret_problems(document))


STEP = "jobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
TOP = "on: push\npermissions:\n  contents: read\n"


@pytest.mark.parametrize(
    ("workflow", "expected"),
    [
        (TOP + STEP + "      - run: npx vercel deploy\n", "npm beyond"),
        (TOP + STEP + "      - run: npm install left-pad\n", "npm beyond"),
        (TOP + STEP + "      - run: pip install --require-hashes pip-audit\n", "pip install"),
        (
            TOP + STEP + "      - run: python -m pip install --require-hashes -r r.txt\n",
            "python -m without -P",
        ),
        (TOP + STEP + "      - run: python3 -I -m orchestra_ops scan .\n", "without -P"),
        (
            TOP + STEP + "      - run: curl -fsSL https://get.pulumi.com | sh\n",
            "piped into a shell",
        ),
        (TOP + STEP + "      - run: curl -fsSLo x.tgz https://e.x/x.tgz\n", "sha256sum"),
        (TOP + STEP + "      - uses: actions/checkout@v4\n", "not pinned"),
        (
            TOP + STEP + "      - uses: actions/setup-node@" + "1" * 40 + "\n",
            "not in the allowed pins",
        ),
        (
            TOP
            + STEP
            + "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n",
            "persist-credentials",
        ),
        ("on: push\n" + STEP + "      - run: 'true'\n", "no top-level permissions"),
        ("on: push\npermissions: write-all\n" + STEP + "      - run: 'true'\n", "writes"),
        (
            TOP
            + "jobs:\n  j:\n    runs-on: ubuntu-latest\n    permissions:\n"
            + "      contents: write\n    steps:\n      - run: 'true'\n",
            "j: writes ['contents']",
        ),
        (
            TOP + STEP + "      - run: npm ci\n        env:\n          T: ${{ secrets.T }}\n",
            "runs no credential-using command",
        ),
        (TOP + STEP + "      - run: echo ${{ secrets.T }}\n", "interpolated"),
    ],
)
def test_each_check_fails_on_its_kind_of_problem(workflow: str, expected: str) -> None:
    """One small workflow per class of problem; each is reported."""
    problems = audit.all_problems(workflow)
    assert any(expected in p for p in problems), problems


def test_a_writer_other_than_the_named_job_is_reported() -> None:
    """security-events: write is allowed to the SARIF job only."""
    text, _ = GENERATED["security-audit (pinned product)"]
    assert any(p.startswith("sarif: writes") for p in audit.permission_problems(audit.load(text)))


def test_pull_request_previews_never_get_the_account_wide_lambda_key() -> None:
    """A preview runs a pull request's code: it gets the dev-scoped Pulumi token only; the
    Lambda key (one per account) reaches `pulumi up` on main alone."""
    jobs = audit.load(GENERATED["infrastructure-ci"][0])["jobs"]

    def secrets(job: str) -> set[str]:
        envs = [step.get("env", {}) for step in jobs[job]["steps"]]
        return {name for env in envs for name, value in env.items() if "secrets." in value}

    assert secrets("preview-dev") == {"PULUMI_ACCESS_TOKEN"}
    assert secrets("up-prod") == {"PULUMI_ACCESS_TOKEN", "LAMBDA_LABS_API_KEY"}
