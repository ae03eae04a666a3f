"""A stack file read before a change is put back byte for byte, or removed if it was not there."""

from __future__ import annotations

from pathlib import Path

from tasks.stack_files import restore_stack_file, stack_file_text


def test_a_stack_file_goes_back_as_it_was_line_endings_and_all(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    original = b'config:\r\n  orchestra-backend:count: "1"\r\n'
    path.write_bytes(original)
    before = stack_file_text(tmp_path, "dev")
    path.write_bytes(b"encryptionsalt: v1:x\nconfig: {}\n")  # what a stack selection writes
    restore_stack_file(tmp_path, "dev", before)
    assert path.read_bytes() == original


def test_a_stack_file_that_was_not_there_is_removed_again(tmp_path: Path) -> None:
    assert stack_file_text(tmp_path, "prod") is None
    (tmp_path / "Pulumi.prod.yaml").write_text("encryptionsalt: v1:x\n")
    restore_stack_file(tmp_path, "prod", None)
    assert not (tmp_path / "Pulumi.prod.yaml").exists()
