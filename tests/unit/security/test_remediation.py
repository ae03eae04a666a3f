"""Remediation: the lowest version that clears every finding of a package; npm fixes from
the advisories' ranges; ranges matched per installed version."""

from __future__ import annotations

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.remediation import (
    affected,
    lowest_clearing,
    npm_range_contains,
    remediation_plan,
)


def finding(
    package: str, version: str, vid: str, fixes: tuple[str, ...] = (), **kw: object
) -> Finding:
    """A PyPI finding in requirements.txt."""
    return Finding(
        ecosystem=kw.pop("ecosystem", Ecosystem.PYPI),  # type: ignore[arg-type]
        package=package,
        version=version,
        ids=frozenset({vid}),
        manifest="requirements.txt",
        tools=frozenset({"pip-audit"}),
        fixed_versions=fixes,
        **kw,  # type: ignore[arg-type]
    )


def test_every_finding_counts_not_only_the_failing_one() -> None:
    """requests 2.19.0: 2.20.0 fixes one CVE and leaves CVE-2023-32681 open; 2.31.0 clears both."""
    old = finding("requests", "2.19.0", "CVE-2018-18074", ("2.20.0",))
    newer = finding("requests", "2.19.0", "CVE-2023-32681", ("2.31.0",))
    (step,) = remediation_plan([old, newer])
    assert step.target == "2.31.0"
    assert step.fixes == ("CVE-2018-18074", "CVE-2023-32681")
    assert remediation_plan([old])[0].target == "2.20.0"


def test_a_fix_on_a_later_line_is_not_taken_for_an_earlier_one() -> None:
    """Fixed in 1.2.6 and 2.0.3 (two lines); another fixed in 2.0.0: 2.0.0 is still in the
    second line's window, so the lowest clearing version is 2.0.3."""
    two_lines = finding("lib", "1.2.0", "A", ("1.2.6", "2.0.3"))
    major = finding("lib", "1.2.0", "B", ("2.0.0",))
    assert lowest_clearing("1.2.0", [two_lines, major]) == "2.0.3"
    assert lowest_clearing("1.2.0", [two_lines]) == "1.2.6"  # stays on the installed line
    assert affected("2.0.1", two_lines) and not affected("1.3.0", two_lines)


def test_a_safety_spec_decides_when_present() -> None:
    """safety's vulnerable spec is exact: 5.4 is outside ``>=5.1,<5.3.1``."""
    spec = finding("pyyaml", "5.3", "CVE-2020-1747", ("5.3.1",), extra={"spec": ">=5.1,<5.3.1"})
    assert affected("5.3", spec) and not affected("5.4", spec)
    assert lowest_clearing("5.3", [spec]) == "5.3.1"


def test_no_fix_known_is_said() -> None:
    """A finding without any fixed version leaves the package without a target."""
    (step,) = remediation_plan([finding("x", "1.0", "X-1"), finding("x", "1.0", "X-2", ("2.0",))])
    assert step.target is None and "no fixed version known" in step.text


def test_npm_ranges() -> None:
    """Comparator sets joined by ``||``; an unreadable range is unknown, not a match."""
    vulnerable = ">=1.0.0 <1.2.6 || <0.2.4"
    assert npm_range_contains(vulnerable, "0.2.3") is True
    assert npm_range_contains(vulnerable, "1.2.5") is True
    assert npm_range_contains(vulnerable, "1.2.6") is False
    assert npm_range_contains(vulnerable, "0.2.4") is False
    assert npm_range_contains("^1.0.0", "1.0.1") is None
