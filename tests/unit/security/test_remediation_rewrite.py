"""Rewriting vulnerable pins to their fixed versions, keeping everything else."""

from __future__ import annotations

import pytest

from orchestra_ops.domain.security.remediation import Step, pins_left, rewrite_pins

TEXT = "# backend\nrequests==2.19.0  # old\nPyYAML[extra]==5.3 ; python_version>'3'\nflask>=2\n"


def test_exact_pins_are_raised_and_the_rest_kept() -> None:
    """Comments, extras and markers survive; ranges and unknown fixes are left alone."""
    steps = [
        Step("r.txt", "requests", "2.19.0", "2.20.0", ("CVE-2018-18074",)),
        Step("r.txt", "pyyaml", "5.3", "5.3.1", ("CVE-2020-1747",)),
        Step("r.txt", "flask", "2", None, ("X",)),
    ]
    assert rewrite_pins(TEXT, steps, "r.txt") == (
        "# backend\nrequests==2.20.0  # old\nPyYAML[extra]==5.3.1 ; python_version>'3'\nflask>=2\n"
    )


def test_a_similar_name_or_another_version_is_not_touched() -> None:
    """requests-oauthlib is not requests; 2.19.1 is not 2.19.0."""
    text = "requests-oauthlib==2.19.0\nrequests==2.19.10\n"
    step = Step("r.txt", "requests", "2.19.0", "2.20.0", ("CVE-1",))
    assert rewrite_pins(text, [step], "r.txt") == text


def test_hashed_files_are_refused() -> None:
    """New versions need new hashes: such a file is recompiled, not edited."""
    with pytest.raises(ValueError, match="pins hashes"):
        rewrite_pins("a==1 --hash=sha256:00\n", [], "requirements.lock")


def test_a_pin_written_out_of_normal_form_is_raised_too() -> None:
    """The scanners report ``V2.10`` as ``2.10`` (they are given the normal form)."""
    text = "Jinja2==V2.10 ; python_version>'3'\nsix==1.0.POST1\n"
    steps = [
        Step("r.txt", "jinja2", "2.10", "2.10.1", ("CVE-2019-10906",)),
        Step("r.txt", "six", "1.0.post1", "1.16.0", ("X",)),
    ]
    assert (
        rewrite_pins(text, steps, "r.txt") == "Jinja2==2.10.1 ; python_version>'3'\nsix==1.16.0\n"
    )


def test_a_name_written_with_underscores_dots_or_capitals_is_raised() -> None:
    """Scanners report the normalised name (flask-cors); the file may say Flask_Cors."""
    text = "Flask_Cors==3.0.7  # api\nzope.interface==4.0\n"
    steps = [
        Step("r.txt", "flask-cors", "3.0.7", "3.0.9", ("CVE-1",)),
        Step("r.txt", "zope-interface", "4.0", "5.0", ("CVE-2",)),
    ]
    assert rewrite_pins(text, steps, "r.txt") == "Flask_Cors==3.0.9  # api\nzope.interface==5.0\n"


def test_a_comment_naming_the_hash_option_is_no_hashed_file() -> None:
    text = "# we never use --hash here\nrequests==2.19.0  # no --hash\n"
    step = Step("r.txt", "requests", "2.19.0", "2.20.0", ("CVE-1",))
    assert rewrite_pins(text, [step], "r.txt") == text.replace("2.19.0", "2.20.0")


def test_a_pin_split_over_lines_is_named_with_its_own_line() -> None:
    """The one-line pin is raised; the split one is read, not rewritten, and named."""
    text = (
        'requests==2.19.0 ; python_version < "3.8"\n'
        'requests \\\n  ==2.19.0 ; python_version >= "3.8"\n'
    )
    step = Step("r.txt", "requests", "2.19.0", "2.20.0", ("CVE-1",), line=1)
    raised = rewrite_pins(text, [step], "r.txt")
    assert raised.splitlines()[0].startswith("requests==2.20.0")
    assert pins_left(raised, [step], "r.txt") == [
        "r.txt:2: requests 2.19.0 -> 2.20.0 (CVE-1): not written as one `name==version` line "
        "to raise"
    ]
