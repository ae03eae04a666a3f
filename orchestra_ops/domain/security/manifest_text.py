"""A manifest's bytes as text, decoded the way pip decodes a requirements file.

Windows PowerShell 5 writes ``pip freeze > requirements.txt`` as UTF-16 with a byte order
mark, and pip installs from it; a scan that reads only UTF-8 would skip such a file. pip's
order is kept: a byte order mark names the encoding; else a PEP 263 ``coding`` comment on
one of the first two lines; else UTF-8 (pip falls back to the locale's encoding, which is
UTF-8 where scans run, and one fixed choice keeps a scan's result the same everywhere).

The encoding, the mark and the line ending are kept, so a file rewritten by the fix mode
goes back as it came (a CRLF file stays CRLF, a UTF-16 file stays UTF-16).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# UTF-32's marks first: UTF-32-LE's starts with UTF-16-LE's.
_MARKS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CODING = re.compile(rb"coding[:=]\s*([-\w.]+)")


@dataclass(frozen=True)
class ManifestText:
    """A file's text (line endings as in the file) and how to write it back."""

    text: str
    encoding: str
    mark: bytes = b""

    @property
    def lines_text(self) -> str:
        """The text with every line ending as ``\\n``, as ``open()`` reads text."""
        return self.text.replace("\r\n", "\n").replace("\r", "\n")

    def to_bytes(self) -> bytes:
        """The file's bytes: the mark, then the text in its encoding."""
        return self.mark + self.text.encode(self.encoding)


def marked_encoding(head: bytes) -> str | None:
    """The encoding the byte order mark at the start of ``head`` (4 bytes or more) names."""
    return next((encoding for mark, encoding in _MARKS if head.startswith(mark)), None)


def bytes_per_unit(head: bytes) -> int:
    """Bytes per code unit of a file starting with ``head`` (its first 4 bytes or more):
    4 for UTF-32, 2 for UTF-16 (by their marks), else 1. A size limit meant for text
    scales by it, so the same text is not refused for being written in UTF-16."""
    return {"utf-32": 4, "utf-16": 2}.get((marked_encoding(head) or "")[:6], 1)


def decode_manifest(data: bytes) -> ManifestText:
    """The text of ``data``; a ``ValueError`` saying what is wrong and where when the bytes
    are not text in the encoding found, or a ``coding`` comment names no text encoding."""
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            body = data[len(mark) :]
            text = _decoded(body, encoding, f"{encoding.upper()} (its byte order mark)")
            return ManifestText(text, encoding, mark)
    for line in data.split(b"\n", 2)[:2]:
        declared = _CODING.search(line) if line.startswith(b"#") else None
        if declared is not None:
            name = declared.group(1).decode("ascii")
            try:
                encoding = codecs.lookup(name).name
                return ManifestText(
                    _decoded(data, encoding, f"{name} (its coding comment)"), encoding
                )
            except LookupError:  # unknown, or a codec of another kind (rot13: str to str)
                raise ValueError(f"its coding comment names {name!r}, no text encoding") from None
    if b"\x00" in data[:4096]:
        raise ValueError("NUL bytes: UTF-16 or UTF-32 without a byte order mark, or not text")
    hint = "and no byte order mark or coding comment on lines 1-2 names another encoding"
    return ManifestText(_decoded(data, "utf-8", f"UTF-8 ({hint})"), "utf-8")


def _decoded(data: bytes, encoding: str, named: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].decode(encoding, errors="replace").count("\n") + 1
        raise ValueError(f"not {named}: byte {error.start} (line {line}): {error.reason}") from None
