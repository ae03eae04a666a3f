"""The security policy of a target repo (``security-policy.yaml``) and its verdict.

Example::

    threshold: high            # findings at or above fail the gate (default: high)
    unknown_severity: high     # how a finding with no severity counts (default: high)
    ignore:
      - id: CVE-2019-10906     # any id or alias of the finding
        reason: sandboxed templates only, tracked in OPS-123
        expires: 2027-01-31    # after this day the finding counts again
    packages:
      jinja2: {threshold: critical}

An invalid file raises ConfigError naming the file, the line and the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap

from orchestra_ops.domain.security.findings import Finding
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

_TOP_KEYS = {"threshold", "unknown_severity", "ignore", "packages"}
_IGNORE_KEYS = {"id", "reason", "expires"}


@dataclass(frozen=True)
class Ignore:
    """A deliberate exception: an id, why, and until when."""

    id: str
    reason: str
    expires: dt.date

    def active_on(self, today: dt.date) -> bool:
        """True up to and including the expiry day."""
        return today <= self.expires


@dataclass(frozen=True)
class Policy:
    """What fails the security gate."""

    threshold: Severity = Severity.HIGH
    unknown_severity: Severity = Severity.HIGH
    ignores: tuple[Ignore, ...] = ()
    package_thresholds: dict[str, Severity] = field(default_factory=dict)

    def effective_severity(self, finding: Finding) -> Severity:
        """The finding's severity, or the unknown-severity rule when it has none."""
        return finding.severity if finding.severity is not None else self.unknown_severity

    def threshold_for(self, package: str) -> Severity:
        """The failing threshold for ``package`` (a per-package override, else the default)."""
        return self.package_thresholds.get(package.lower(), self.threshold)


@dataclass(frozen=True)
class Verdict:
    """The policy applied to a set of findings."""

    failing: tuple[Finding, ...]
    passing: tuple[Finding, ...]
    ignored: tuple[tuple[Finding, Ignore], ...]
    expired: tuple[tuple[Finding, Ignore], ...]

    @property
    def passed(self) -> bool:
        """True when nothing is at or above its threshold (expired ignores included)."""
        return not self.failing


def evaluate(findings: list[Finding], policy: Policy, today: dt.date) -> Verdict:
    """Sort each finding into failing, passing or ignored; expired ignores count again."""
    failing, passing, ignored, expired = [], [], [], []
    for finding in findings:
        match = next((i for i in policy.ignores if i.id in finding.ids), None)
        if match is not None and match.active_on(today):
            ignored.append((finding, match))
            continue
        if match is not None:
            expired.append((finding, match))
        if policy.effective_severity(finding) >= policy.threshold_for(finding.package):
            failing.append(finding)
        else:
            passing.append(finding)
    return Verdict(tuple(failing), tuple(passing), tuple(ignored), tuple(expired))


def parse_policy(text: str, source: str = "security-policy.yaml") -> Policy:
    """Parse a policy file's text; ConfigError with ``source:line`` on any problem."""
    document = load_yaml(text, source)
    if document is None:
        return Policy()
    if not isinstance(document, CommentedMap):
        raise _error(source, 1, "the policy must be a mapping")
    _reject_unknown(document, _TOP_KEYS, source)
    return Policy(
        threshold=_severity(document, "threshold", Severity.HIGH, source),
        unknown_severity=_severity(document, "unknown_severity", Severity.HIGH, source),
        ignores=_ignores(document, source),
        package_thresholds=_package_thresholds(document, source),
    )


def _error(source: str, line: int, reason: str) -> ConfigError:
    return ConfigError(f"{source}:{line}: {reason}", source=f"{source}:{line}")


def _line(mapping: CommentedMap, key: Any) -> int:
    return int(mapping.lc.key(key)[0]) + 1


def _reject_unknown(mapping: CommentedMap, allowed: set[str], source: str) -> None:
    for key in mapping:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise _error(source, _line(mapping, key), f"unknown key {key!r} (known: {known})")


def _severity(mapping: CommentedMap, key: str, default: Severity, source: str) -> Severity:
    if key not in mapping:
        return default
    try:
        return Severity.parse(str(mapping[key]))
    except ValueError as error:
        raise _error(source, _line(mapping, key), f"{key}: {error}") from None


def _ignores(document: CommentedMap, source: str) -> tuple[Ignore, ...]:
    entries = document.get("ignore") or []
    if not isinstance(entries, list):
        raise _error(source, _line(document, "ignore"), "ignore must be a list of entries")
    ignores = []
    for index, entry in enumerate(entries):
        line = int(entries.lc.item(index)[0]) + 1 if hasattr(entries, "lc") else 1
        if not isinstance(entry, CommentedMap):
            raise _error(source, line, "each ignore needs id, reason and expires")
        _reject_unknown(entry, _IGNORE_KEYS, source)
        missing = sorted(_IGNORE_KEYS - set(entry))
        if missing:
            raise _error(source, line, f"ignore entry lacks {', '.join(missing)}")
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                expires = None
        if not isinstance(expires, dt.date):
            reason = "expires must be a date like 2027-01-31"
            raise _error(source, _line(entry, "expires"), reason)
        if entry["reason"] is None or not str(entry["reason"]).strip():
            raise _error(source, _line(entry, "reason"), "an ignore needs a reason")
        ignores.append(Ignore(str(entry["id"]), str(entry["reason"]), expires))
    return tuple(ignores)


def _package_thresholds(document: CommentedMap, source: str) -> dict[str, Severity]:
    if document.get("packages") is None:
        return {}
    packages = document["packages"]
    if not isinstance(packages, CommentedMap):
        raise _error(source, _line(document, "packages"), "packages must be a mapping")
    thresholds = {}
    for name, override in packages.items():
        if not isinstance(override, CommentedMap) or set(override) != {"threshold"}:
            raise _error(source, _line(packages, name), f"{name}: expected {{threshold: LEVEL}}")
        thresholds[str(name).lower()] = _severity(override, "threshold", Severity.HIGH, source)
    return thresholds
