"""The security policy: thresholds, ignores with expiry, overrides, and clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.policy import Policy, evaluate, parse_policy
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.errors import ConfigError

TODAY = dt.date(2026, 11, 26)


def _finding(ids: set[str], severity: Severity | None, package: str = "jinja2") -> Finding:
    return Finding(
        ecosystem=Ecosystem.PYPI,
        package=package,
        version="2.10",
        ids=frozenset(ids),
        manifest="requirements.txt",
        tools=frozenset({"pip-audit"}),
        severity=severity,
    )


POLICY = """\
# comments are fine
threshold: high
unknown_severity: moderate
ignore:
  - id: CVE-2019-10906
    reason: sandboxed templates only
    expires: 2027-01-31
  - id: GHSA-old
    reason: waiting on upstream
    expires: 2026-01-01
packages:
  urllib3: {threshold: critical}
"""


def test_parse_a_complete_policy() -> None:
    """Every documented key is read."""
    policy = parse_policy(POLICY)
    assert policy.threshold == Severity.HIGH
    assert policy.unknown_severity == Severity.MODERATE
    assert [i.id for i in policy.ignores] == ["CVE-2019-10906", "GHSA-old"]
    assert policy.ignores[0].expires == dt.date(2027, 1, 31)
    assert policy.threshold_for("URLLIB3") == Severity.CRITICAL
    assert policy.threshold_for("requests") == Severity.HIGH


def test_empty_file_is_the_default_policy() -> None:
    """No file content means: fail on high, unknown counts as high."""
    assert parse_policy("") == Policy()


def test_threshold_and_ignores_decide_the_verdict() -> None:
    """High fails, moderate passes, an active ignore hides, an expired ignore counts again."""
    policy = parse_policy(POLICY)
    high = _finding({"CVE-A"}, Severity.HIGH, package="requests")
    moderate = _finding({"CVE-B"}, Severity.MODERATE, package="requests")
    ignored = _finding({"PYSEC-2019-217", "CVE-2019-10906"}, Severity.HIGH)
    expired = _finding({"GHSA-old"}, Severity.CRITICAL)
    verdict = evaluate([high, moderate, ignored, expired], policy, TODAY)
    assert verdict.failing == (high, expired)
    assert verdict.passing == (moderate,)
    assert [f for f, _ in verdict.ignored] == [ignored]
    assert [(f, i.id) for f, i in verdict.expired] == [(expired, "GHSA-old")]
    assert not verdict.passed


def test_ignore_is_active_through_its_expiry_day() -> None:
    """Expiry is inclusive: the ignore still holds on the day it names."""
    policy = parse_policy(POLICY)
    finding = _finding({"CVE-2019-10906"}, Severity.CRITICAL)
    assert evaluate([finding], policy, dt.date(2027, 1, 31)).passed
    assert not evaluate([finding], policy, dt.date(2027, 2, 1)).passed


def test_unknown_severity_rule_is_explicit() -> None:
    """By default a finding with no severity counts as high, and fails the gate."""
    unknown = _finding({"PYSEC-X"}, None)
    assert not evaluate([unknown], Policy(), TODAY).passed
    lenient = parse_policy("unknown_severity: moderate\n")
    assert evaluate([unknown], lenient, TODAY).passed


def test_per_package_override_raises_the_bar() -> None:
    """urllib3 fails only on critical under the example policy."""
    policy = parse_policy(POLICY)
    assert evaluate([_finding({"CVE-C"}, Severity.HIGH, "urllib3")], policy, TODAY).passed
    critical = _finding({"CVE-D"}, Severity.CRITICAL, "urllib3")
    assert not evaluate([critical], policy, TODAY).passed


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("threshold: severe\n", 1, "unknown severity 'severe'"),
        ("threshold: high\nthreshhold: low\n", 2, "unknown key 'threshhold'"),
        ("ignore:\n  - id: CVE-1\n    reason: x\n", 2, "lacks expires"),
        ("ignore:\n  - id: CVE-1\n    reason: x\n    expires: soon\n", 4, "expires must be a date"),
        ("ignore:\n  - id: CVE-1\n    reason: ''\n    expires: 2027-01-01\n", 3, "needs a reason"),
        ("ignore: CVE-1\n", 1, "ignore must be a list"),
        ("packages:\n  jinja2: critical\n", 2, "expected {threshold: LEVEL}"),
        ("threshold: [high\n", 2, "not valid YAML"),
        ("- high\n", 1, "must be a mapping"),
    ],
)
def test_invalid_policy_names_the_line_and_the_reason(text: str, line: int, fragment: str) -> None:
    """Every mistake points at its line in the file."""
    with pytest.raises(ConfigError) as caught:
        parse_policy(text, source="repo/security-policy.yaml")
    assert str(caught.value).startswith(f"repo/security-policy.yaml:{line}: ")
    assert fragment in str(caught.value)
