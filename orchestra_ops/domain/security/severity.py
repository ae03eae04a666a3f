"""Severity: from CVSS vectors (v2, v3.x, v4) or an advisory's own label, to one scale."""

from __future__ import annotations

from enum import IntEnum

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError


class Severity(IntEnum):
    """The one severity scale; ordered, so thresholds compare with ``>=``."""

    LOW = 1
    MODERATE = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, label: str) -> Severity:
        """Read a label such as ``high``, ``MODERATE`` or ``medium``; ValueError otherwise."""
        normalised = label.strip().upper()
        aliases = {"MEDIUM": "MODERATE", "IMPORTANT": "HIGH"}
        try:
            return cls[aliases.get(normalised, normalised)]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {label!r}; use one of {choices}") from None

    @property
    def label(self) -> str:
        """Lower-case name, as reports print it."""
        return self.name.lower()


def severity_from_score(score: float) -> Severity | None:
    """Bucket a CVSS base score: >=9 critical, >=7 high, >=4 moderate, >0 low, 0 none."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MODERATE
    if score > 0.0:
        return Severity.LOW
    return None


def cvss_base_score(vector: str) -> float:
    """The base score of a CVSS v2, v3.x or v4 vector; ValueError when it is malformed."""
    try:
        if vector.startswith("CVSS:4"):
            return float(CVSS4(vector).base_score)
        if vector.startswith("CVSS:3"):
            return float(CVSS3(vector).base_score)
        return float(CVSS2(vector).scores()[0])
    except CVSSError as error:
        raise ValueError(f"malformed CVSS vector {vector!r}: {error}") from error


def best_severity(
    vectors: list[str], labels: list[str]
) -> tuple[Severity | None, float | None, str | None]:
    """Severity, score and vector from what an advisory offers.

    Vectors win over labels (a label is someone's summary of a vector); among vectors
    the highest score wins. Malformed vectors and unknown labels are skipped.
    """
    scored: list[tuple[float, str]] = []
    for vector in vectors:
        try:
            scored.append((cvss_base_score(vector), vector))
        except ValueError:
            continue
    if scored:
        score, vector = max(scored)
        return severity_from_score(score), score, vector
    parsed: list[Severity] = []
    for label in labels:
        try:
            parsed.append(Severity.parse(label))
        except ValueError:
            continue
    return (max(parsed) if parsed else None), None, None
