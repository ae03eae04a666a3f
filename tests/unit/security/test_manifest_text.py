"""Manifest bytes to text as pip reads a requirements file, and back as they came."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from orchestra_ops.domain.security.manifest_text import bytes_per_unit, decode_manifest

FREEZE = "requests==2.19.0\r\nurllib3==1.24.1\r\n"  # pip freeze in Windows PowerShell 5


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF16_LE + FREEZE.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + FREEZE.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + FREEZE.encode("utf-32-le"), "utf-32-le"),
        (codecs.BOM_UTF32_BE + FREEZE.encode("utf-32-be"), "utf-32-be"),
        (codecs.BOM_UTF8 + FREEZE.encode(), "utf-8"),
        (FREEZE.encode(), "utf-8"),
    ],
    ids=["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8-mark", "utf-8"],
)
def test_a_marked_or_plain_file_reads_as_its_text(data: bytes, encoding: str) -> None:
    read = decode_manifest(data)
    assert read.encoding == encoding
    assert read.text == FREEZE  # line endings as in the file
    assert read.lines_text == "requests==2.19.0\nurllib3==1.24.1\n"
    assert read.to_bytes() == data


def test_a_coding_comment_on_the_first_two_lines_names_the_encoding() -> None:
    second = "#!/usr/bin/env pip\n# -*- coding: latin-1 -*-\nflask==0.12  # café\n"
    assert decode_manifest(second.encode("latin-1")).text == second
    third = "\n\n# coding: latin-1\nflask==0.12  # café\n"  # pip looks at two lines only
    with pytest.raises(ValueError, match="byte 38 \\(line 4\\)"):
        decode_manifest(third.encode("latin-1"))


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"# coding: klingon\nflask==0.12\n", "'klingon', no text encoding"),
        (b"# coding: rot13\nflask==0.12\n", "'rot13', no text encoding"),
        (b"\x89PNG\r\n\x1a\n", r"not UTF-8 \(and no .*\): byte 0 \(line 1\)"),
        ("requests==2.19.0\n".encode("utf-16-le"), "NUL bytes: UTF-16 or UTF-32 without a"),
        (
            codecs.BOM_UTF16_LE + "a==1\nb==2\n".encode("utf-16-le") + b"c",
            r"not UTF-16-LE \(its byte order mark\): byte 20 \(line 3\): truncated data",
        ),
        (
            b"# coding: ascii\nflask==0.12  # caf\xe9\n",
            r"not ascii \(its coding comment\): byte 34 \(line 2\)",
        ),
    ],
    ids=[
        "unknown-coding",
        "not-a-text-codec",
        "binary",
        "no-mark",
        "odd-utf-16",
        "not-as-declared",
    ],
)
def test_what_is_not_text_is_a_value_error_saying_why(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        decode_manifest(data)


@given(
    text=st.text(st.characters(exclude_categories=["Cs"]), max_size=200),
    mark=st.sampled_from(
        [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (b"", "utf-8")]
    ),
)
def test_any_text_comes_back_byte_for_byte(text: str, mark: tuple[bytes, str]) -> None:
    data = mark[0] + text.encode(mark[1])
    assume(mark[0] or not text.startswith("\ufeff"))  # U+FEFF first: a marked UTF-8 file
    assume("coding" not in text)  # a coding comment names another encoding
    assume(mark[0] or "\x00" not in text)  # NUL without a mark: UTF-16 without its mark
    read = decode_manifest(data)
    assert read.to_bytes() == data
    assert "\r" not in read.lines_text


def test_a_size_limit_counts_utf_16_and_utf_32_in_their_code_units() -> None:
    head = b"requests"
    assert bytes_per_unit(codecs.BOM_UTF16_BE + head) == 2
    assert bytes_per_unit(codecs.BOM_UTF32_LE + head) == 4  # not UTF-16-LE's mark
    assert bytes_per_unit(codecs.BOM_UTF8 + head) == 1
    assert bytes_per_unit(head) == 1
