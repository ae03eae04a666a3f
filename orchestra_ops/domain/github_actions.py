"""GitHub Actions pinned to full commit SHAs, shared by every generated workflow.

A tag can be moved; a commit SHA cannot. Each pin was seen with its release in a
comment in at least two independent public workflows before it was used here.
:data:`PINS` lists every action a generated workflow may use; the workflow tests
refuse any other ``uses:``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ActionPin:
    """An action at a full commit SHA, and the release that SHA is."""

    action: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        """The ``uses:`` value with its version comment."""
        return f"{self.action}@{self.sha} # {self.version}"


CHECKOUT = ActionPin("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
SETUP_NODE = ActionPin("actions/setup-node", "49933ea5288caeca8642d1e84afbd3f7d6820020", "v4.4.0")
SETUP_PYTHON = ActionPin(
    "actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"
)
UPLOAD_SARIF = ActionPin(
    "github/codeql-action/upload-sarif", "5d4e8d1aca955e8d8589aabd499c5cae939e33c7", "v4.31.9"
)
DEPENDENCY_REVIEW = ActionPin(
    "actions/dependency-review-action", "da24556b548a50705dd671f47852072ea4c105d9", "v4.6.0"
)
UPLOAD_ARTIFACT = ActionPin(
    "actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"
)
DOWNLOAD_ARTIFACT = ActionPin(
    "actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"
)
PINS = (
    CHECKOUT,
    SETUP_NODE,
    SETUP_PYTHON,
    UPLOAD_SARIF,
    DEPENDENCY_REVIEW,
    UPLOAD_ARTIFACT,
    DOWNLOAD_ARTIFACT,
)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def quoted(value: str, what: str = "a value") -> str:
    """``value`` as one YAML double-quoted scalar, safe anywhere in a generated workflow.

    JSON string syntax (ASCII, every quote and backslash escaped) is a YAML 1.2
    double-quoted scalar, so a quote in a file name cannot end the string. Control
    characters (a newline would start a new YAML line in a comment) and ``${{`` (GitHub
    would evaluate it as an expression) are refused with a ValueError naming ``what``.
    """
    shown = json.dumps(value)
    if _UNSAFE.search(value):
        raise ValueError(
            f"{what} {shown} has a control character (a newline?): it cannot go into a "
            "generated workflow; rename it"
        )
    if "${{" in value:
        raise ValueError(
            f"{what} {shown} contains '${{{{', which GitHub would evaluate as an expression; "
            "rename it"
        )
    return shown


def quoted_list(values: list[str] | tuple[str, ...], what: str = "a value") -> str:
    """A YAML flow sequence of :func:`quoted` scalars."""
    return "[" + ", ".join(quoted(v, what) for v in values) + "]"
