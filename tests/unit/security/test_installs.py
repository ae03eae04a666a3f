"""Requirements installed outside requirements files: commands, tox deps, setup files."""

from __future__ import annotations

from orchestra_ops.domain.security.installs import read_installs
from orchestra_ops.domain.security.manifests import LockedPackage, Reference

DOCKERFILE = """\
FROM python:3.11
# RUN pip install ignored==1.0
RUN pip install --no-cache-dir requests==2.19.0 -r deps/main \\
    "jinja2[i18n]==2.10" flask -c constraints.txt
RUN python3 -m pip install --upgrade pip && pip3 install -i https://idx/simple urllib3>=1.24
RUN uv pip install --requirement=more.txt pyyaml===5.3 ./local-pkg git+https://x/y.git
RUN pip install $EXTRA "${PKG}==1.0" dist/app-1.0-py3-none-any.whl -rother.txt
"""


def test_pip_install_commands_give_their_pins_and_references_by_line() -> None:
    installs = read_installs(DOCKERFILE, "docker/Dockerfile.prod")
    assert installs.exact == [
        LockedPackage("requests", "2.19.0", 3),
        LockedPackage("jinja2", "2.10", 4),  # on the continuation line that names it
        LockedPackage("pyyaml", "5.3", 6),
    ]
    assert [(u.line, u.name) for u in installs.unchecked("docker/Dockerfile.prod")] == [
        (4, "flask"),
        (5, "pip"),
        (5, "urllib3"),
        (6, "git+https://x/y.git"),  # no version to look up: listed
        (7, "$EXTRA"),
        (7, "${PKG}==1.0"),
    ]
    assert installs.references == (
        Reference(3, "deps/main", False),
        Reference(4, "constraints.txt", True),  # on the continuation line naming it
        Reference(6, "more.txt", False),
        Reference(7, "other.txt", False),
    )


def test_a_script_or_ci_step_reads_the_same_way() -> None:
    script = "set -e\ncd api && pip install -r requirements/prod.txt; echo done\n"
    ci = "steps:\n  - run: |\n      python -m pip install pip-audit==2.7.3 safety==3.2.0\n"
    assert read_installs(script, "deploy.sh").references == (
        Reference(2, "requirements/prod.txt", False),
    )
    assert [p.name for p in read_installs(ci, ".github/workflows/a.yml").exact] == [
        "pip-audit",
        "safety",
    ]


def test_tox_deps_and_setup_files() -> None:
    tox = (
        "[tox]\nenvlist = py311\n[testenv]\ndeps =\n    -r{toxinidir}/deps/main\n"
        "    pytest >= 7\n    mock==1.0.1\ncommands = pytest\n"
    )
    installs = read_installs(tox, "tox.ini")
    assert installs.references == (Reference(5, "deps/main", False),)
    assert installs.exact == [LockedPackage("mock", "1.0.1", 7)]
    assert [u.name for u in installs.unchecked("tox.ini")] == ["pytest"]

    setup_py = (
        "from setuptools import setup\n"
        'setup(name="ml", install_requires=["jinja2==2.10", "requests>=2"])\n'
    )
    setup = read_installs(setup_py, "ml/setup.py")
    assert setup.exact == [LockedPackage("jinja2", "2.10", 2)]
    assert [u.name for u in setup.unchecked("ml/setup.py")] == ["requests"]

    cfg = (
        "[metadata]\nname = x\n[options]\ninstall_requires =\n    urllib3==1.24.1\n"
        "    click\npython_requires = >=3.8\n"
    )
    assert read_installs(cfg, "setup.cfg").exact == [LockedPackage("urllib3", "1.24.1", 5)]


def test_text_that_installs_nothing_gives_nothing() -> None:
    assert read_installs("FROM node:20\nRUN npm ci\n", "Dockerfile") == read_installs("", "x.sh")
    assert read_installs("echo 'pip install later'\n", "x.sh").pins == ()


def test_what_an_outside_check_found_in_real_looking_files() -> None:
    """Printed commands install nothing; option values are no packages; a pin sits on
    its own line, not a neighbour's whose name it starts; variables and URLs are listed;
    tox factors and commands and setup.cfg extras are read."""
    ci = (
        "jobs:\n  build:\n    steps:\n"
        "      - run: echo 'pip install requests==2.19.0 is what we used to do'\n"
    )
    assert read_installs(ci, ".github/workflows/build.yml").pins == ()
    docker = (
        "RUN pip install --use-feature truststore --keyring-provider subprocess jinja2==2.10\n"
        "RUN uv pip install --system --index-strategy unsafe-best-match PyYAML==5.3\n"
        "RUN pip install \\\n    requests-toolbelt==0.9.1 \\\n    requests==2.19.0\n"
        "RUN pip install requests==$VER https://example.com/foo-1.0.tar.gz\n"
    )
    installs = read_installs(docker, "Dockerfile")
    assert [(p.name, p.line) for p in installs.exact] == [
        ("jinja2", 1),
        ("PyYAML", 2),
        ("requests-toolbelt", 4),
        ("requests", 5),
    ]
    assert [u.name for u in installs.unchecked("Dockerfile")] == [
        "requests==$VER",
        "https://example.com/foo-1.0.tar.gz",
    ]
    tox = "[testenv]\ndeps =\n    py311: jinja2==2.10\ncommands =\n    pip install pyyaml==5.3\n"
    assert [(p.name, p.line) for p in read_installs(tox, "tox.ini").exact] == [
        ("jinja2", 3),
        ("pyyaml", 5),
    ]
    cfg = "[options.extras_require]\ndev = pyyaml==5.3\n"
    assert read_installs(cfg, "setup.cfg").exact == [LockedPackage("pyyaml", "5.3", 2)]


def test_a_yaml_folded_block_is_one_command_over_its_lines() -> None:
    """`run: >` folds its lines into one command: the pin on the next line is installed."""
    workflow = (
        "jobs:\n  a:\n    steps:\n"
        "      - run: >\n          pip install\n          urllib3==1.24.1\n"
        "      - run: |\n          pip install requests==2.19.0\n          echo done\n"
        "      - run: >-\n          python -m pip install -r deps/main\n"
    )
    installs = read_installs(workflow, ".github/workflows/a.yml")
    assert [(p.name, p.line) for p in installs.exact] == [("urllib3", 6), ("requests", 8)]
    assert installs.references == (Reference(11, "deps/main", False),)
    # A Dockerfile line ending in ">" is no YAML block.
    assert read_installs("RUN pip install x==1 >\n", "Dockerfile").exact == [
        LockedPackage("x", "1", 1)
    ]


def test_a_pin_that_is_no_requirement_is_listed_while_paths_and_archives_are_not() -> None:
    """``"requests==2.19.0 -r x"`` (one quoted word) and ``pkg/sub==1`` were dropped without
    a trace; a local path or an archive installs no released version and stays out."""
    text = 'pip install six==1.0 "requests==2.19.0 -r x" pkg/sub==1 ./local a-1.0.whl b.tgz\n'
    installs = read_installs(text, "setup.sh")
    assert installs.exact == [LockedPackage("six", "1.0", 1)]
    assert [u.name for u in installs.unchecked("setup.sh")] == [
        "requests==2.19.0 -r x",
        "pkg/sub==1",
    ]
