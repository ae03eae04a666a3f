"""Deduplication across scanners by the union of ids and aliases."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from orchestra_ops.domain.security.findings import Ecosystem, Finding, deduplicate, primary_id
from orchestra_ops.domain.security.severity import Severity


def _finding(ids: set[str], tool: str, **kwargs: object) -> Finding:
    base: dict[str, object] = {
        "ecosystem": Ecosystem.PYPI,
        "package": "requests",
        "version": "2.19.0",
        "manifest": "requirements.txt",
    }
    base.update(kwargs)
    return Finding(ids=frozenset(ids), tools=frozenset({tool}), **base)  # type: ignore[arg-type]


def test_pip_audit_and_safety_merge_on_a_shared_cve() -> None:
    """pip-audit's PYSEC record and safety's pyup record meet on CVE-2018-18074."""
    pip_audit = _finding(
        {"PYSEC-2018-28", "GHSA-x84v-xcm2-53pg", "CVE-2018-18074"},
        "pip-audit",
        fixed_versions=("2.20.0",),
        line=3,
    )
    safety = _finding(
        {"36546", "CVE-2018-18074"},
        "safety",
        severity=Severity.HIGH,
        cvss_score=7.5,
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    )
    (merged,) = deduplicate([pip_audit, safety])
    assert merged.tools == {"pip-audit", "safety"}
    assert merged.primary_id == "CVE-2018-18074"
    assert merged.aliases == ("36546", "GHSA-x84v-xcm2-53pg", "PYSEC-2018-28")
    assert merged.severity == Severity.HIGH
    assert merged.cvss_score == 7.5
    assert merged.fixed_versions == ("2.20.0",)
    assert merged.line == 3


def test_a_chain_of_aliases_joins_three_records() -> None:
    """PYSEC~CVE from one tool and CVE~GHSA from another, plus GHSA alone: one finding."""
    findings = [
        _finding({"GHSA-1"}, "npm"),
        _finding({"PYSEC-1", "CVE-1"}, "pip-audit"),
        _finding({"CVE-1", "GHSA-1"}, "safety"),
    ]
    (merged,) = deduplicate(findings)
    assert merged.ids == {"GHSA-1", "PYSEC-1", "CVE-1"}


def test_different_versions_or_manifests_stay_apart() -> None:
    """The same advisory in two manifests is two findings, each with its own location."""
    a = _finding({"CVE-1"}, "pip-audit", manifest="a/requirements.txt")
    b = _finding({"CVE-1"}, "pip-audit", manifest="b/requirements.txt")
    c = _finding({"CVE-1"}, "pip-audit", version="2.20.0", manifest="a/requirements.txt")
    assert len(deduplicate([a, b, c])) == 3


def test_primary_id_prefers_cve_then_ghsa_then_pysec() -> None:
    """Reports lead with the most widely known id."""
    assert primary_id({"PYSEC-2019-217", "GHSA-462w-v97r-4m45"}) == "GHSA-462w-v97r-4m45"
    assert primary_id({"PYSEC-2019-217", "36546"}) == "PYSEC-2019-217"
    assert primary_id({"b", "a"}) == "a"


_ids = st.sets(st.sampled_from([f"ID-{n}" for n in range(8)]), min_size=1, max_size=3)


@given(st.lists(_ids, min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_dedup_is_order_independent_and_keeps_every_id(
    id_sets: list[set[str]], rng: random.Random
) -> None:
    """Whatever order the tools report in, the merged result is the same partition."""
    findings = [_finding(ids, f"tool-{i}") for i, ids in enumerate(id_sets)]
    shuffled = findings[:]
    rng.shuffle(shuffled)
    first = deduplicate(findings)
    second = deduplicate(shuffled)
    assert sorted(sorted(f.ids) for f in first) == sorted(sorted(f.ids) for f in second)
    assert set().union(*(f.ids for f in first)) == set().union(*id_sets)
    for i, left in enumerate(first):
        for right in first[i + 1 :]:
            assert not left.ids & right.ids
