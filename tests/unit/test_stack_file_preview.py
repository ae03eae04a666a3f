"""Which changes to a stack file a dry run's preview makes, so putting the file back after
a killed dry run never undoes someone's edit (``changed_only_by_preview``)."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.stack_config import changed_only_by_preview

BEFORE = "config:\n  orchestra-backend:count: '1'\n  orchestra-backend:region: us-west-1\n"
SALTED = f"encryptionsalt: v1:abc\n{BEFORE}"


@pytest.mark.parametrize(
    ("before", "now", "preview"),
    [
        (BEFORE, BEFORE, True),
        (BEFORE, SALTED, True),  # the first selection adds a salt
        (None, "encryptionsalt: v1:abc\n", True),  # and makes the file
        (BEFORE, SALTED.replace("'1'", "'3'"), True),  # the request's count
        (BEFORE, BEFORE.replace("'1'", "'2'"), False),  # a count nobody asked the run for
        (BEFORE, BEFORE + "  orchestra-backend:ssh_key: mine\n", False),  # an added key
        (SALTED, SALTED.replace("v1:abc", "v1:other"), False),  # a salt changed
        (BEFORE, None, False),  # the file deleted
        (BEFORE, "config: [\n", False),  # not YAML any more
        (BEFORE, "- a list\n", False),
    ],
)
def test_only_the_salt_and_the_requests_values_count_as_the_previews(
    before: str | None, now: str | None, preview: bool
) -> None:
    assert changed_only_by_preview(before, now, {"count": "3"}, "Pulumi.dev.yaml") is preview
