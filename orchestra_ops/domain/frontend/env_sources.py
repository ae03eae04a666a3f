"""Read environment variables out of Docker and dotenv files, with where each came from.

Pure: text in, :class:`FoundVar` s out. A value that only refers to another variable
(``ENV X=$X`` fed by an ``ARG X`` with no default) has no value: it must be supplied.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REFERENCE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}?$")


@dataclass(frozen=True)
class FoundVar:
    """One variable as a file declares it; ``value`` None means no usable value there."""

    key: str
    value: str | None
    source: str
    line: int

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.source}:{self.line}"


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Dockerfile lines with backslash continuations joined, numbered by their first line."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined.append((start, " ".join(part.strip() for part in pending)))
        pending = []
    if pending:
        joined.append((start, " ".join(pending)))
    return joined


def _resolve(value: str, known: dict[str, str | None]) -> str | None:
    """A literal stays; ``$X`` / ``${X}`` / ``${X:-d}`` become X's known value or the default."""
    match = _REFERENCE.match(value)
    if match is None:
        return value
    name, default = match.groups()
    resolved = known.get(name)
    return resolved if resolved is not None else (default or None)


def parse_dockerfile(text: str, source: str) -> list[FoundVar]:
    """``ARG`` and ``ENV`` declarations of every stage, in order."""
    found: list[FoundVar] = []
    known: dict[str, str | None] = {}
    for line, content in _logical_lines(text):
        words = content.split(None, 1)
        if len(words) < 2 or words[0].upper() not in ("ARG", "ENV"):
            continue
        instruction, rest = words[0].upper(), words[1]
        try:
            tokens = shlex.split(rest, comments=False, posix=True)
        except ValueError as error:
            raise ConfigError(f"{source}:{line}: cannot parse {instruction}: {error}") from None
        pairs: list[tuple[str, str | None]]
        if instruction == "ENV" and tokens and "=" not in tokens[0]:
            pairs = [(tokens[0], " ".join(tokens[1:]))]  # legacy `ENV KEY value`
        else:
            pairs = [(t.split("=", 1)[0], t.split("=", 1)[1] if "=" in t else None) for t in tokens]
        for key, raw in pairs:
            if not _KEY.match(key):
                raise ConfigError(f"{source}:{line}: {key!r} is not a valid variable name")
            value = _resolve(raw, known) if raw is not None else None
            if instruction == "ARG" and value is None and key in known:
                continue  # re-declaring an ARG in a later stage adds nothing
            known[key] = value
            found.append(FoundVar(key, value, source, line))
    return found


def parse_dotenv(text: str, source: str) -> list[FoundVar]:
    """``KEY=value`` lines (``export`` and quotes allowed); empty values count as missing."""
    found = []
    for line, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise ConfigError(f"{source}:{line}: expected KEY=value", source=f"{source}:{line}")
        value = value.strip()
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found.append(FoundVar(key, value or None, source, line))
    return found


def _environment_items(environment: Any, source: str) -> list[tuple[str, str | None, int]]:
    items: list[tuple[str, str | None, int]] = []
    if isinstance(environment, CommentedSeq):
        for index, entry in enumerate(environment):
            key, sep, value = str(entry).partition("=")
            items.append((key, value if sep else None, environment.lc.item(index)[0] + 1))
    elif isinstance(environment, CommentedMap):
        for key, value in environment.items():
            line = environment.lc.key(key)[0] + 1
            items.append((str(key), None if value is None else str(value), line))
    elif environment is not None:
        raise ConfigError(f"{source}: environment must be a list or a mapping", source=source)
    return items


def parse_compose(text: str, source: str) -> list[FoundVar]:
    """``environment:`` and ``build.args`` of the services this repo builds.

    Services that only run an image (a database, a cache) are other people's
    containers: their variables are not the app's and are left out.
    """
    document = load_yaml(text, source)
    services = (document or {}).get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict):
        raise ConfigError(f"{source}: no services mapping", source=source)
    found = []
    for service in services.values():
        if not isinstance(service, dict) or "build" not in service:
            continue
        build = service["build"]
        args = build.get("args") if isinstance(build, dict) else None
        for key, value, line in [
            *_environment_items(args, source),
            *_environment_items(service.get("environment"), source),
        ]:
            if not _KEY.match(key):
                raise ConfigError(f"{source}:{line}: {key!r} is not a valid variable name")
            resolved = _resolve(value, {}) if value is not None else None
            found.append(FoundVar(key, resolved, source, line))
    return found
