"""Severity from CVSS vectors and labels."""

from __future__ import annotations

import re

import pytest

from orchestra_ops.domain.security.severity import (
    Severity,
    best_severity,
    cvss_base_score,
    severity_from_score,
)

REQUESTS_CVE_2018_18074 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"


def test_cvss_versions_are_all_scored() -> None:
    """v3.1, v4.0 and v2 vectors each give their base score."""
    assert cvss_base_score(REQUESTS_CVE_2018_18074) == 7.5
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert cvss_base_score(v4) == 9.3
    assert cvss_base_score("AV:N/AC:L/Au:N/C:P/I:N/A:N") == 5.0


def test_malformed_vector_is_a_clear_value_error() -> None:
    """A broken vector names itself in the error."""
    with pytest.raises(ValueError, match=re.escape("malformed CVSS vector 'CVSS:3.1/AV:X'")):
        cvss_base_score("CVSS:3.1/AV:X")


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10.0, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.HIGH),
        (7.0, Severity.HIGH),
        (6.9, Severity.MODERATE),
        (4.0, Severity.MODERATE),
        (3.9, Severity.LOW),
        (0.1, Severity.LOW),
        (0.0, None),
    ],
)
def test_score_buckets(score: float, expected: Severity | None) -> None:
    """The bucket edges are the CVSS v3 qualitative ratings."""
    assert severity_from_score(score) == expected


def test_vectors_win_over_labels_and_the_highest_vector_wins() -> None:
    """A label is a summary; a vector is the fact. Bad vectors are skipped."""
    severity, score, vector = best_severity(
        ["garbage", "AV:N/AC:L/Au:N/C:P/I:N/A:N", REQUESTS_CVE_2018_18074], ["LOW"]
    )
    assert (severity, score, vector) == (Severity.HIGH, 7.5, REQUESTS_CVE_2018_18074)


def test_labels_are_used_when_no_vector_parses() -> None:
    """GHSA's MODERATE and npm's moderate and 'medium' all mean the same level."""
    assert best_severity([], ["MODERATE", "info"]) == (Severity.MODERATE, None, None)
    assert best_severity([], ["medium"])[0] == Severity.MODERATE
    assert best_severity([], []) == (None, None, None)


def test_unknown_label_is_refused_with_the_choices() -> None:
    """Policy files get a useful message for a typo."""
    with pytest.raises(ValueError, match="use one of low, moderate, high, critical"):
        Severity.parse("severe")
