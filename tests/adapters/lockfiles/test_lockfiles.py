"""Lockfile readers: the formats' variants, what is pinned, what is listed as unchecked,
and a clear one-line error for a damaged lock (fast, no scanner)."""

from __future__ import annotations

import json

import pytest

from orchestra_ops.adapters.lockfiles import read_lock
from orchestra_ops.adapters.lockfiles.npm_lock import package_lock_v3
from orchestra_ops.domain.security.manifests import LockedPackage
from orchestra_ops.errors import ConfigError


def pins(text: str, source: str) -> list[tuple[str, str, int | None]]:
    """(name, version, line) of every pin."""
    return [(p.name, p.version, p.line) for p in read_lock(text, source).packages]


def skipped(text: str, source: str) -> list[tuple[int | None, str]]:
    """(line, name) of every unchecked entry."""
    return [(u.line, u.name) for u in read_lock(text, source).unchecked]


PNPM_V5 = """\
lockfileVersion: 5.4

specifiers:
  lodash: ^4.17.20

packages:

  /@babel/core/7.20.0_react@18.2.0:
    resolution: {integrity: sha512-x}
    dev: false

  /lodash/4.17.20:
    resolution: {integrity: sha512-y}
"""

PNPM_V6 = """\
lockfileVersion: '6.0'

packages:

  /@types/node@20.1.0:
    resolution: {integrity: sha512-x}

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-y}
"""


def test_pnpm_lockfile_versions_5_and_6() -> None:
    """Old key shapes: ``/name/version_peer`` and ``/name@version(peer)``; scopes kept."""
    assert pins(PNPM_V5, "pnpm-lock.yaml") == [
        ("@babel/core", "7.20.0", 8),
        ("lodash", "4.17.20", 12),
    ]
    assert pins(PNPM_V6, "a/pnpm-lock.yaml") == [
        ("@types/node", "20.1.0", 5),
        ("react-dom", "18.2.0", 8),
    ]


def test_pnpm_damage_is_one_line_naming_the_file() -> None:
    """Not YAML, or no lockfileVersion: a ConfigError naming the file."""
    with pytest.raises(ConfigError, match=r"^web/pnpm-lock.yaml:3: not valid YAML$"):
        read_lock("packages:\n  - [unclosed\n", "web/pnpm-lock.yaml")
    with pytest.raises(ConfigError, match="not a pnpm lockfile"):
        read_lock("packages: {}\n", "pnpm-lock.yaml")


YARN_V1 = """\
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz"

string-width-cjs@npm:string-width@^4.2.0:
  version "4.2.3"

local@file:../local:
  version "0.0.1"
"""


def test_yarn_v1_scopes_aliases_and_local_files() -> None:
    """An alias is audited under its real name; a file: dependency is listed."""
    assert pins(YARN_V1, "yarn.lock") == [
        ("@babel/code-frame", "7.12.13", 4),
        ("string-width", "4.2.3", 8),
    ]
    assert skipped(YARN_V1, "yarn.lock") == [(11, "local")]


def test_yarn_berry_workspaces_patches_and_git() -> None:
    """Workspaces are left out, a patch is its base package, git is listed."""
    text = """\
__metadata:
  version: 6

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."

"fsevents@patch:fsevents@npm%3A2.3.2#~builtin<compat/fsevents>":
  version: 2.3.2
  resolution: "fsevents@patch:fsevents@npm%3A2.3.2#~builtin<compat/fsevents>::version=2.3.2"

"@scope/lib@npm:^1.0.0":
  version: 1.0.4
  resolution: "@scope/lib@npm:1.0.4"

"fork@https://github.com/o/fork.git#head=main":
  version: 0.1.0
  resolution: "fork@https://github.com/o/fork.git#commit=abc"
"""
    assert pins(text, "yarn.lock") == [("@scope/lib", "1.0.4", 12), ("fsevents", "2.3.2", 8)]
    assert skipped(text, "yarn.lock") == [(16, "fork")]


def test_yarn_file_that_is_no_lockfile() -> None:
    """Neither v1 nor berry: named as such."""
    with pytest.raises(ConfigError, match="not a yarn lockfile"):
        read_lock("hello: world\n", "yarn.lock")


def test_bun_lock_with_trailing_commas() -> None:
    """Workspace packages left out, git listed, registry pins with their lines."""
    text = """\
{
  "lockfileVersion": 1,
  "workspaces": { "": { "name": "app" }, "packages/ui": { "name": "ui" }, },
  "packages": {
    "ui": ["ui@workspace:packages/ui"],
    "lodash": ["lodash@4.17.20", "", {}, "sha512-x"],
    "ui/minimist": ["minimist@0.2.3", "", {}, "sha512-y"],
    "fork": ["fork@github:o/fork#abc", {}, "o-fork-abc"],
  },
}
"""
    assert pins(text, "bun.lock") == [("lodash", "4.17.20", 6), ("minimist", "0.2.3", 7)]
    assert skipped(text, "bun.lock") == [(8, "fork")]
    with pytest.raises(ConfigError, match=r"^bun.lock:\d+: not valid JSON"):
        read_lock('{"packages": {', "bun.lock")


def test_poetry_source_kinds() -> None:
    """Default and private (legacy) indexes are audited; url, file and path are listed."""
    text = """\
[[package]]
name = "Django"
version = "4.2.0"

[[package]]
name = "private-lib"
version = "1.0.0"

[package.source]
type = "legacy"
url = "https://pypi.internal/simple"
reference = "internal"

[[package]]
name = "wheel-from-url"
version = "0.1.0"

[package.source]
type = "url"
url = "https://example.com/w-0.1.0.whl"
"""
    assert pins(text, "poetry.lock") == [("django", "4.2.0", 2), ("private-lib", "1.0.0", 6)]
    assert skipped(text, "poetry.lock") == [(15, "wheel-from-url")]
    with pytest.raises(ConfigError, match=r"^poetry\.lock: not valid TOML"):
        read_lock("[[package]\n", "poetry.lock")


def test_uv_lock_forks_pin_one_name_twice() -> None:
    """uv resolves per platform: two versions of a name are both audited, each at its line."""
    text = """\
version = 1

[[package]]
name = "numpy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "2.0.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "tool"
version = "0.1.0"
source = { git = "https://github.com/o/tool?rev=v1#abc" }
"""
    assert pins(text, "uv.lock") == [("numpy", "1.26.4", 4), ("numpy", "2.0.1", 9)]
    assert skipped(text, "uv.lock") == [(14, "tool")]


def test_pipfile_lock_sections_and_editables() -> None:
    """default and develop pins; an editable path is listed as local code."""
    lock = {
        "_meta": {},
        "default": {"Flask": {"version": "==2.3.3"}, "me": {"editable": True, "path": "."}},
        "develop": {"pytest": {"version": "==8.0.0"}},
    }
    text = json.dumps(lock, indent=4)
    assert pins(text, "Pipfile.lock") == [("flask", "2.3.3", 4), ("pytest", "8.0.0", 13)]
    (local,) = read_lock(text, "Pipfile.lock").unchecked
    assert (local.line, local.name) == (7, "me") and "local package" in local.reason


def test_generated_package_lock_nests_a_second_version_under_the_first() -> None:
    """Two versions of one name: one at the top, the other nested under it; no invented
    package name reaches the registry."""
    text, nodes = package_lock_v3(
        [LockedPackage("minimist", "1.2.5", 3), LockedPackage("minimist", "0.2.3", 9)]
    )
    lock = json.loads(text)
    assert lock["lockfileVersion"] == 3
    assert lock["packages"] == {
        "": {"name": "orchestra-ops-audit", "version": "0.0.0"},
        "node_modules/minimist": {"version": "0.2.3"},
        "node_modules/minimist/node_modules/minimist": {"version": "1.2.5"},
    }
    assert nodes["node_modules/minimist/node_modules/minimist"].line == 3


def test_pnpm_lock_with_an_env_document_first() -> None:
    """pnpm 10 writes its env lockfile as a first YAML document: the project's lock is read."""
    text = """\
---
lockfileVersion: '9.0'

importers:

  .:
    configDependencies: {}
---
lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      lodash:
        specifier: 4.17.20
        version: 4.17.20

packages:

  lodash@4.17.20:
    resolution: {integrity: sha512-x}
"""
    assert pins(text, "pnpm-lock.yaml") == [("lodash", "4.17.20", 21)]
