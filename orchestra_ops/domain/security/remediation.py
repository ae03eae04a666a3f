"""The remediation plan: per package, the lowest version that clears ALL its findings (pure).

Every finding counts, not only the gate-failing ones: raising ``requests 2.19.0`` to
``2.20.0`` fixes CVE-2018-18074 but leaves CVE-2023-32681 open, so the plan says 2.31.0.
The candidates are the fixed versions the advisories name (npm: the upper bounds of the
vulnerable ranges); the lowest candidate above the installed version that no finding
still affects wins. Whether a version is affected comes from the advisory's range when
one is known (npm ``range``, safety's ``spec``), else from the fixed versions: a version is
fixed once it reaches a fix and no later fix sits on its own release line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.manifests import canonical_name, read_requirements
from orchestra_ops.domain.security.scan import ManifestKind

_UPPER_BOUND = re.compile(r"<\s*v?([0-9][^\s|,]*)\s*$")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=)?\s*v?([0-9][0-9A-Za-z.+-]*)$")


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_comparators(version: Version, part: str) -> bool | None:
    tokens = re.sub(r"(>=|<=|>|<|=)\s+", r"\1", part.strip()).split()
    for token in tokens:
        if token in ("*", "x"):
            continue
        match = _COMPARATOR.match(token)
        bound = _version(match.group(2)) if match else None
        if match is None or bound is None:
            return None
        operator = match.group(1) or "="
        ok = {
            ">=": version >= bound,
            "<=": version <= bound,
            ">": version > bound,
            "<": version < bound,
            "=": version == bound,
        }[operator]
        if not ok:
            return False
    return True


def npm_range_contains(vulnerable: str, version: str) -> bool | None:
    """Whether an npm range (``>=1.0.0 <1.2.6 || <0.2.4``) holds ``version``; None: unknown."""
    parsed = _version(version)
    if parsed is None or not vulnerable.strip():
        return None
    answers = [_in_comparators(parsed, part) for part in vulnerable.split("||")]
    if any(answers):
        return True
    return None if None in answers else False


def range_fixes(vulnerable: str) -> list[str]:
    """The upper bounds of an npm vulnerable range: ``<4.17.21`` -> ``4.17.21``."""
    found = (_UPPER_BOUND.search(part.strip()) for part in vulnerable.split("||"))
    return [match.group(1) for match in found if match]


def candidate_fixes(finding: Finding) -> list[str]:
    """Fixed versions the advisory names, plus the upper bounds of its vulnerable range."""
    return sorted(set(finding.fixed_versions) | set(range_fixes(finding.extra.get("range", ""))))


def _line(version: Version) -> tuple[int, int]:
    release = (*version.release, 0)
    return release[0], release[1]


def _by_fixes(version: Version, finding: Finding) -> bool:
    fixes = [v for text in candidate_fixes(finding) if (v := _version(text)) is not None]
    if not any(f <= version for f in fixes):
        return True
    return any(f > version and _line(f) == _line(version) for f in fixes)


def affected(version: str, finding: Finding) -> bool:
    """Whether ``version`` of the finding's package is still affected by it."""
    parsed = _version(version)
    if parsed is None:
        return True
    vulnerable = finding.extra.get("range", "")
    if vulnerable and finding.ecosystem is Ecosystem.NPM:
        inside = npm_range_contains(vulnerable, version)
        if inside is not None:
            return inside
    spec = finding.extra.get("spec", "")
    if spec:
        try:
            return any(parsed in SpecifierSet(part) for part in spec.split("||"))
        except InvalidSpecifier:
            pass
    return _by_fixes(parsed, finding)


def lowest_clearing(current: str, findings: list[Finding]) -> str | None:
    """The lowest fixed version above ``current`` that no finding affects, or None."""
    installed = _version(current)
    candidates = sorted(
        {
            (v, text)
            for finding in findings
            for text in candidate_fixes(finding)
            if (v := _version(text)) is not None and (installed is None or v > installed)
        }
    )
    for _, text in candidates:
        if not any(affected(text, f) for f in findings):
            return text
    return None


@dataclass(frozen=True)
class Step:
    """Upgrade one package in one manifest, fixing the listed vulnerabilities."""

    manifest: str
    package: str
    current: str
    target: str | None
    fixes: tuple[str, ...]
    line: int | None = None

    @property
    def text(self) -> str:
        """One human line, e.g. ``requirements.txt:11: requests 2.19.0 -> 2.20.0``."""
        where = f"{self.manifest}:{self.line}" if self.line else self.manifest
        target = self.target or "no fixed version known"
        return f"{where}: {self.package} {self.current} -> {target} ({', '.join(self.fixes)})"


def remediation_plan(findings: Iterable[Finding]) -> list[Step]:
    """One step per (manifest, package, version), sorted; pass EVERY finding, not a subset."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.manifest, finding.package, finding.version), []).append(finding)
    return [
        Step(
            manifest=manifest,
            package=package,
            current=version,
            target=lowest_clearing(version, group),
            fixes=tuple(sorted(f.primary_id for f in group)),
            line=next((f.line for f in group if f.line is not None), None),
        )
        for (manifest, package, version), group in sorted(groups.items())
    ]


_NO_FIX = (
    "replace or remove it, or add it to ignore: in security-policy.yaml with a reason and an expiry"
)
_LOCK = "a lock file: update it with the tool that writes it"
_BY_HAND: dict[ManifestKind | None, str] = {
    ManifestKind.NPM_LOCK: _LOCK,
    ManifestKind.PYTHON_LOCK: _LOCK,
    ManifestKind.JS_LOCK: _LOCK,
    ManifestKind.INSTALLED: "pinned in an install command or setup file: raise it there",
}


def split_by_hand(
    steps: Iterable[Step], kinds: Mapping[str, ManifestKind]
) -> tuple[list[Step], list[str]]:
    """The steps the fix mode makes (a fixed version, in a requirements file it rewrites)
    and, as lines, the ones left to a person and why. ``kinds``: each manifest's kind."""
    made, by_hand = [], []
    for step in steps:
        kind = kinds.get(step.manifest)
        if step.target is None:
            by_hand.append(f"{step.text}: {_NO_FIX}")
        elif kind is ManifestKind.REQUIREMENTS:
            made.append(step)
        else:
            by_hand.append(f"{step.text}: {_BY_HAND.get(kind, 'not a file the scan read')}")
    return made, by_hand


def rewrite_pins(text: str, steps: Iterable[Step], source: str) -> str:
    """``text`` of a requirements file with each step's ``name==current`` raised to its target.

    Only exact pins are touched; the rest of each line (extras, markers, comments) is kept.
    A hashed file is refused: a new version needs new hashes, so it must be recompiled.
    """
    lines = text.splitlines(keepends=True)
    if any(_HASH_OPTION.search(_without_comment(line)) for line in lines):
        raise ValueError(
            f"{source} pins hashes: recompile it with the tool that wrote it "
            "(pip-compile or uv pip compile, with --generate-hashes)"
        )
    for step in steps:
        if step.target is None:
            continue
        for index, line in enumerate(lines):
            found = _EXACT_PIN.match(line)
            if (
                found is not None
                and canonical_name(found.group(1)) == canonical_name(step.package)
                and _same_version(found.group(3), step.current)
            ):
                lines[index] = line[: found.start(3)] + step.target + line[found.end(3) :]
    return "".join(lines)


def pins_left(text: str, steps: Iterable[Step], source: str) -> list[str]:
    """The steps whose exact pin ``text`` still holds at the vulnerable version, as lines
    with the pin's own line number (a pin split over lines is read but not rewritten)."""
    pins = read_requirements(text, source).pins
    return [
        f"{replace(step, line=pin.line).text}: not written as one `name==version` line to raise"
        for step in steps
        if step.target is not None
        for pin in pins
        if pin.exact
        and pin.name == canonical_name(step.package)
        and pin.version is not None
        and _same_version(pin.version, step.current)
    ]


def _without_comment(line: str) -> str:
    return "" if line.lstrip().startswith("#") else line.split(" #", 1)[0]


_EXACT_PIN = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*([A-Za-z0-9.*+!_-]+)"
)
_HASH_OPTION = re.compile(r"(?:^|\s)--hash[=\s]")


def _same_version(written: str, reported: str) -> bool:
    """``written`` in the file is the version a scanner reported (which gives the PEP 440
    normal form: ``V2.10`` is reported as ``2.10``)."""
    if written.lower() == reported.lower():
        return True
    try:
        return Version(written) == Version(reported)
    except ValueError:  # InvalidVersion, or too many digits
        return False
