"""A project reference that finds no project: an id is refused, a name is created."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.vercel import missing_project_problem


@pytest.mark.parametrize(
    "ref", ["prj_0a1B2c3D4e5F6g7H8i9J0k1L2m3N", "prj_abcdefghijklmnopqrstuvwxyz12", "prj_Mistyped"]
)
def test_an_id_that_finds_nothing_is_never_a_name(ref: str) -> None:
    assert f"no Vercel project has the id {ref}" in (missing_project_problem(ref) or "")


@pytest.mark.parametrize("ref", ["orchestra-admin", "prj_landing", "prj_marketing-site", "prj"])
def test_a_name_vercel_allows_may_be_created(ref: str) -> None:
    assert missing_project_problem(ref) is None
