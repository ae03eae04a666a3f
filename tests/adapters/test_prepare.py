"""What each manifest hands the scanners (fast, no scanner runs): generated pinned inputs,
references that lead nowhere, and names pinned twice."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from orchestra_ops.adapters.scanners.discover import discover
from orchestra_ops.adapters.scanners.prepare import prepare
from orchestra_ops.domain.security.scan import Manifest, ManifestKind
from orchestra_ops.errors import ScanError


def write(path: Path, text: str) -> Path:
    """Write ``text`` at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_and_outside_references_are_listed(tmp_path: Path) -> None:
    """-r to a missing file and -c to a file outside the repo: both named by line."""
    repo = tmp_path / "repo"
    write(tmp_path / "shared.txt", "jinja2==2.10\n")
    text = "-r gone.txt\n-c ../../shared.txt\nrequests==2.19.0\njinja2\n"
    write(repo / "requirements" / "app.txt", text)
    manifest = Manifest("requirements/app.txt", ManifestKind.REQUIREMENTS)
    ready = prepare(repo, manifest, text, tmp_path / "work")
    assert [(u.line, u.name) for u in ready.unchecked] == [
        (1, "-r gone.txt"),
        (2, "-c ../../shared.txt"),
        (4, "jinja2"),  # the outside constraints file does not count as covering it
    ]
    assert "does not exist" in ready.unchecked[0].reason
    assert "outside the repository" in ready.unchecked[1].reason
    (pinned,) = ready.inputs
    assert pinned.read_text() == "requests==2.19.0\n"


def test_a_name_pinned_twice_is_audited_in_two_inputs(tmp_path: Path) -> None:
    """pip-audit takes one version per name per file: the second goes to a second file."""
    text = 'pywin32==306 ; sys_platform == "win32"\npywin32==300 ; sys_platform != "win32"\n'
    write(tmp_path / "requirements.txt", text)
    manifest = Manifest("requirements.txt", ManifestKind.REQUIREMENTS)
    ready = prepare(tmp_path, manifest, text, tmp_path / "work")
    assert [p.read_text() for p in ready.inputs] == ["pywin32==306\n", "pywin32==300\n"]
    assert ready.lines() == {"pywin32==306": 1, "pywin32": 1, "pywin32==300": 2}


def test_a_js_lock_becomes_a_package_lock_for_npm_audit(tmp_path: Path) -> None:
    """The generated lock sits next to a package.json; node paths map back to lock lines."""
    text = '# yarn lockfile v1\n\n\nlodash@^4.17.19:\n  version "4.17.19"\n'
    write(tmp_path / "yarn.lock", text)
    ready = prepare(tmp_path, Manifest("yarn.lock", ManifestKind.JS_LOCK), text, tmp_path / "w")
    (lock,) = ready.inputs
    assert (lock.parent / "package.json").is_file()
    assert json.loads(lock.read_text())["packages"]["node_modules/lodash"] == {"version": "4.17.19"}
    assert ready.nodes == {"node_modules/lodash": "4.17.19"}
    assert ready.node_lines == {"node_modules/lodash": 4}


def test_a_lock_in_a_workspace_root_covers_only_its_members(tmp_path: Path) -> None:
    """A package.json below a lock counts as covered only when the lock names its folder."""
    write(tmp_path / "pnpm-lock.yaml", "lockfileVersion: '9.0'\nimporters:\n  apps/web: {}\n")
    write(tmp_path / "apps" / "web" / "package.json", "{}")
    write(tmp_path / "apps" / "other" / "package.json", "{}")
    _, unsupported = discover(tmp_path)
    reasons = {u.path: u.reason for u in unsupported}
    assert "scanned in pnpm-lock.yaml" in reasons["apps/web/package.json"]
    assert "has no lockfile" in reasons["apps/other/package.json"]


def test_a_pip_compile_header_names_the_input_it_covers(tmp_path: Path) -> None:
    """``pip-compile -o deps.lock.txt requirements/main.in``: main.in is covered by the
    output, found by the header (names differ); the output is found by its content."""
    write(tmp_path / "requirements" / "main.in", "flask\n")
    header = "#\n#    pip-compile --output-file=deps.lock.txt requirements/main.in\n#\n"
    write(tmp_path / "deps.lock.txt", header + "flask==2.3.3\n")
    manifests, unsupported = discover(tmp_path)
    assert [m.path for m in manifests] == ["deps.lock.txt"]
    assert [(u.path, u.reason) for u in unsupported] == [
        (
            "requirements/main.in",
            "the input of deps.lock.txt, whose compiled pins are scanned instead",
        )
    ]


def test_setup_files_and_conda_environments_are_named(tmp_path: Path) -> None:
    """A setup.py with install_requires and a conda environment: listed, with why."""
    write(tmp_path / "setup.py", "setup(name='x', install_requires=['requests>=2'])\n")
    write(tmp_path / "tools" / "setup.py", "print('not a package')\n")
    write(tmp_path / "environment.yml", "name: ml\ndependencies:\n  - numpy=1.26\n")
    _, unsupported = discover(tmp_path)
    reasons = {u.path: u.reason for u in unsupported}
    assert set(reasons) == {"environment.yml", "setup.py"}
    assert "conda environment is not audited" in reasons["environment.yml"]
    assert "declares ranges" in reasons["setup.py"]


def test_a_lock_version_with_a_line_break_is_listed_not_written_into_the_input(
    tmp_path: Path,
) -> None:
    """A poetry.lock version ``2.19.0\\n-r /abs/file`` would add a line to the pinned input
    that the scanners follow; it is listed as not checked, and the good pin still audited."""
    outside = write(tmp_path / "outside.txt", "django==1.2\n")
    text = (
        '[[package]]\nname = "requests"\nversion = "2.19.0"\n\n'
        f'[[package]]\nname = "evil"\nversion = "1.0\\n-r {outside}"\n\n'
        '[[package]]\nname = "bad\\nname"\nversion = "1.0"\n'
    )
    repo = tmp_path / "repo"
    write(repo / "poetry.lock", text)
    ready = prepare(repo, Manifest("poetry.lock", ManifestKind.PYTHON_LOCK), text, tmp_path / "w")
    (pinned,) = ready.inputs
    assert pinned.read_text() == "requests==2.19.0\n"
    assert [p.name for p in ready.packages] == ["requests"]
    reasons = {u.name: u.reason for u in ready.unchecked}
    assert reasons["evil"].startswith("version <") and "is not a PEP 440 version" in reasons["evil"]
    assert reasons["'bad\\nname'"].startswith("not a valid package name")


def test_a_pin_to_a_word_is_listed_not_passed_to_the_scanners(tmp_path: Path) -> None:
    """``flask==latest`` names no release: safety dropped it and pip-audit refused the file."""
    text = "flask==latest\nrequests==2.19.0\nurllib3==1.24 \n"
    write(tmp_path / "requirements.txt", text)
    manifest = Manifest("requirements.txt", ManifestKind.REQUIREMENTS)
    ready = prepare(tmp_path, manifest, text, tmp_path / "work")
    (pinned,) = ready.inputs
    assert pinned.read_text() == "requests==2.19.0\nurllib3==1.24\n"
    (unchecked,) = ready.unchecked
    assert (unchecked.line, unchecked.name) == (1, "flask")
    assert "'latest' is not a PEP 440 version" in unchecked.reason


def test_a_name_ending_in_a_line_break_is_listed_not_split_over_two_input_lines(
    tmp_path: Path,
) -> None:
    """``"jinja2\\n"`` in a Pipfile.lock would write ``jinja2`` and ``==2.10`` on two lines:
    pip-audit refused the file and safety read a bare name (met by an outside check)."""
    text = json.dumps(
        {"default": {"jinja2\n": {"version": "==2.10"}, "requests": {"version": "==2.19.0"}}}
    )
    write(tmp_path / "Pipfile.lock", text)
    manifest = Manifest("Pipfile.lock", ManifestKind.PYTHON_LOCK)
    ready = prepare(tmp_path, manifest, text, tmp_path / "work")
    (pinned,) = ready.inputs
    assert pinned.read_text() == "requests==2.19.0\n"
    assert [u.name for u in ready.unchecked] == ["'jinja2\\n'"]


def test_a_version_too_long_to_read_is_listed_not_a_crash(tmp_path: Path) -> None:
    """packaging refuses a number of more than 4300 digits with a ValueError of its own."""
    text = f"jinja2==2.10\nsix==1.{'9' * 5000}\n"
    write(tmp_path / "requirements.txt", text)
    manifest = Manifest("requirements.txt", ManifestKind.REQUIREMENTS)
    ready = prepare(tmp_path, manifest, text, tmp_path / "work")
    (pinned,) = ready.inputs
    assert pinned.read_text() == "jinja2==2.10\n"
    assert [(u.line, u.name) for u in ready.unchecked] == [(2, "six")]


def test_versions_reach_the_scanners_in_normal_form_and_map_back_to_their_line(
    tmp_path: Path,
) -> None:
    """pip-audit reports ``V2.10`` as ``2.10`` and safety as written: the same finding twice
    in the merge, unless both are handed the normal form."""
    text = "Jinja2==V2.10\nsix==0!1.0.POST1\nrequests==2.19.0\n"
    write(tmp_path / "requirements.txt", text)
    manifest = Manifest("requirements.txt", ManifestKind.REQUIREMENTS)
    ready = prepare(tmp_path, manifest, text, tmp_path / "work")
    (pinned,) = ready.inputs
    assert pinned.read_text() == "jinja2==2.10\nsix==1.0.post1\nrequests==2.19.0\n"
    assert ready.lines()["jinja2==2.10"] == 1 and ready.lines()["six==1.0.post1"] == 2
    assert ready.unchecked == ()


def test_a_file_found_by_content_is_found_in_utf_16_as_in_utf_8(tmp_path: Path) -> None:
    """The sniffing limit counts characters: a 400 KB file of pins found by its content
    (no requirements name) is found as well when written as 800 KB of UTF-16."""
    text = "# pinned by hand\n" * 23_000 + "requests==2.19.0\n"
    for encoding, mark in (("utf-8", b""), ("utf-16-le", codecs.BOM_UTF16_LE)):
        repo = tmp_path / encoding
        repo.mkdir()
        (repo / "base.txt").write_bytes(mark + text.encode(encoding))
        manifests, unsupported = discover(repo)
        assert [m.path for m in manifests] == ["base.txt"], encoding
        assert unsupported == []


def test_an_unreadable_requirements_file_is_listed_with_what_and_where(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"flask==0.12\nrequests==2.19.0  # caf\xe9\n")
    manifests, unsupported = discover(tmp_path)
    assert manifests == []
    (listed,) = unsupported
    assert listed.path == "requirements.txt"
    assert "not readable as text: not UTF-8" in listed.reason
    assert "byte 35 (line 2)" in listed.reason


def test_a_utf_16_package_lock_is_refused_saying_npm_cannot_read_it(tmp_path: Path) -> None:
    """npm audit reads the lockfile itself, as UTF-8 only: the failure names the encoding
    (npm alone would say there is no lockfile)."""
    text = '{"lockfileVersion": 3, "packages": {}}\n'
    lock = tmp_path / "package-lock.json"
    lock.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    manifest = Manifest("package-lock.json", ManifestKind.NPM_LOCK)
    with pytest.raises(ScanError, match="UTF-16 or UTF-32 text: npm reads lockfiles as UTF-8"):
        prepare(tmp_path, manifest, text, tmp_path / "work")
