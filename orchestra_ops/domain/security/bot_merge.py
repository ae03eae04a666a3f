"""Merge the generated update-bot configuration into the repository's existing file (pure).

A repository's ``dependabot.yml`` or ``renovate.json`` carries choices the product does
not make (other ecosystems such as ``github-actions`` or ``docker``, registries, ignore
rules, package rules, reviewers). So an existing file is merged, never replaced:

- Dependabot: each ``updates`` entry the product generates (its ecosystem and directory)
  updates the entry for the same ecosystem and directory in place (the entry's other
  keys, such as ``ignore`` or ``registries``, stay) or is appended; every other entry and
  top-level key is kept as it was, comments included. A directory an existing
  ``directories:`` list already covers is left to that entry.
- Renovate (JSON): the product's keys are set (schedule, time zone, vulnerability alerts,
  separate-update options), its presets are added to ``extends`` (the deprecated
  ``config:base`` becomes ``config:recommended``), its package rules are added unless a
  rule with the same matcher is there; every other key and rule stays. Reviewers and
  assignees are set only when the settings name some.

A file that cannot be read as its format (a JSON5 file with comments, broken YAML) is
not merged: :class:`MergeError` says why, and the caller writes the proposal next to it.
"""

from __future__ import annotations

import io
import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class MergeError(ValueError):
    """The existing file cannot be merged (not readable as its format, or not a mapping)."""


def proposal_path(path: str) -> str:
    """Where the generated file goes when ``path`` cannot be merged: next to it."""
    return f"{path}.orchestra-ops-proposal"


def _round_trip() -> YAML:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _directory(value: Any) -> str:
    return "/" + str(value).strip().strip("/")


def merge_dependabot(existing: str, generated: dict[str, Any], path: str) -> tuple[str, list[str]]:
    """``existing`` dependabot.yml text with the ``generated`` updates merged in."""
    yaml = _round_trip()
    try:
        document = yaml.load(existing)
    except YAMLError as error:
        raise MergeError(f"{path} is not valid YAML ({type(error).__name__})") from error
    if document is None:
        document = {}
    updates = document.get("updates") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(updates or [], list):
        raise MergeError(f"{path} is not a Dependabot configuration (no `updates` list)")
    wanted = {(u["package-ecosystem"], _directory(u["directory"])): u for u in generated["updates"]}
    kept = sum(
        1
        for entry in updates or []
        if not isinstance(entry, dict)
        or (entry.get("package-ecosystem"), _directory(entry.get("directory"))) not in wanted
    )
    done, notes = _update_in_place(updates or [], wanted, path)
    added = [u for key, u in wanted.items() if key not in done]
    if added:
        if updates is None:
            document["updates"] = updates = []
        updates.extend(added)
    document.setdefault("version", 2)
    if kept:
        notes.append(
            f"{path}: merged; {kept} existing update entr{'y' if kept == 1 else 'ies'} the "
            "product does not manage kept as they were"
        )
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue(), notes


def _update_in_place(
    updates: list[Any], wanted: dict[tuple[str, str], dict[str, Any]], path: str
) -> tuple[set[tuple[str, str]], list[str]]:
    """Update the existing entries the product manages; (keys covered, notes)."""
    done: set[tuple[str, str]] = set()
    notes: list[str] = []
    for entry in updates:
        if not isinstance(entry, dict):
            continue
        ecosystem = entry.get("package-ecosystem")
        if "directory" in entry:
            key = (ecosystem, _directory(entry["directory"]))
            if key in wanted and key not in done:
                entry.update(wanted[key])
                done.add(key)
        for directory in entry.get("directories") or []:
            key = (ecosystem, _directory(directory))
            if key in wanted and key not in done:
                done.add(key)
                notes.append(
                    f"{path}: {key[0]} {key[1]} is left to the existing entry that lists it "
                    "under `directories`"
                )
    return done, notes


#: Keys of renovate.json the product sets; every other key of an existing file is kept.
_RENOVATE_SET = (
    "timezone",
    "schedule",
    "separateMinorPatch",
    "separateMultipleMajor",
    "separateMajorMinor",
    "vulnerabilityAlerts",
    "osvVulnerabilityAlerts",
)
_MATCHERS = ("matchPackageNames", "matchPackagePatterns", "matchDepTypes", "matchManagers")


def _matcher(rule: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(rule, dict):
        return ()
    return tuple((key, json.dumps(rule[key], sort_keys=True)) for key in _MATCHERS if key in rule)


def merge_renovate(existing: str, generated: dict[str, Any], path: str) -> tuple[str, list[str]]:
    """``existing`` renovate JSON text with the ``generated`` settings merged in."""
    try:
        document = json.loads(existing)
    except ValueError as error:
        raise MergeError(
            f"{path} is not plain JSON (JSON5 comments or trailing commas?)"
        ) from error
    if not isinstance(document, dict):
        raise MergeError(f"{path} is not a Renovate configuration (not a JSON object)")
    notes: list[str] = []
    presets = document.get("extends") or []
    extends = [
        "config:recommended" if preset == "config:base" else preset
        for preset in ([presets] if isinstance(presets, str) else presets)
    ]
    extends += [p for p in generated["extends"] if p not in extends]
    document["extends"] = list(dict.fromkeys(extends))
    for key in _RENOVATE_SET:
        document[key] = generated[key]
    rules = list(document.get("packageRules") or [])
    present = {_matcher(rule) for rule in rules}
    rules += [rule for rule in generated["packageRules"] if _matcher(rule) not in present]
    document["packageRules"] = rules
    for key in ("reviewers", "assignees"):
        if key in generated:
            document[key] = generated[key]
    kept = [k for k in document if k not in generated and k != "$schema"]
    if kept:
        notes.append(f"{path}: merged; kept its own {', '.join(kept)}")
    return json.dumps(document, indent=2) + "\n", notes
