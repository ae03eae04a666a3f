"""Find every Pulumi project of a repo snapshot, its stacks, StackReferences and CI path uses.

Pure and deterministic: the same snapshot gives the same Discovery, sorted by path.
"""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap

from orchestra_ops.domain.reorg.model import (
    PROJECT_FILES,
    Discovery,
    PathKind,
    PathRef,
    Project,
    Snapshot,
    StackConfig,
    StackRef,
    is_under,
    join,
    parent,
)
from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[^/]+)\.ya?ml$")
# A literal first argument, optionally ``name=``; f-strings and template literals included.
# Go passes the context first: ``pulumi.NewStackReference(ctx, "org/project/stack", nil)``.
STACK_REF = re.compile(
    r"StackReference\(\s*(?:ctx\s*,\s*)?(?:name\s*=\s*)?(?P<prefix>f?)(?P<q>[\"'`])"
    r"(?P<target>[^\"'`\n]*)(?P=q)"
)
# A YAML program's ``type: pulumi:pulumi:StackReference`` resource and its ``name:`` property.
_YAML_REF = re.compile(
    r"type:\s*pulumi:pulumi:StackReference\s*\n(?:[^\n]*\n){0,4}?\s+name:\s*"
    r"(?P<q>[\"']?)(?P<target>[^\"'\s#]+)(?P=q)"
)
CODE_SUFFIXES = (".py", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".go", "Pulumi.yaml", "Pulumi.yml")
_GITLAB_LOCAL = re.compile(
    r"^\s*(?:-\s*)?(?:local:\s*|(?=['\"]?/?[\w./-]+\.ya?ml['\"]?\s*$))['\"]?/?(?P<path>[\w./-]+)"
)
_DIR_KEY = re.compile(r"^\s*-?\s*(?P<key>work-dir|working-directory):\s*(?P<value>[^#\n]*[^#\s])")
_PATHS_KEY = re.compile(r"^(?P<indent>\s*)paths(?:-ignore)?:\s*(?:#.*)?$")
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)-\s*(?P<value>[^\s#]+)")
_CD = re.compile(r"(?<![\w-])cd\s+(?P<value>[^\s;&|()`'\"]+)")
# Nodejs and Python files that belong to a project living at the repo root.
_ROOT_COMPANIONS = {
    "nodejs": ("package.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "tsconfig.json"),
    "python": (),
    "go": ("go.mod", "go.sum"),
}
_ENTRY_POINTS = ("__main__.py", "index.ts", "index.js", "main.go")


def discover(snapshot: Snapshot) -> Discovery:
    """Every project, StackReference and CI/script path reference in ``snapshot``."""
    project_files = sorted(p for p in snapshot if p.rsplit("/", 1)[-1] in PROJECT_FILES)
    projects = tuple(p for p in (_project(snapshot, f) for f in project_files) if p is not None)
    dirs = [p.directory for p in projects]
    if len(set(dirs)) != len(dirs):
        twice = sorted({d for d in dirs if dirs.count(d) > 1})
        raise ConfigError(f"{twice[0] or '.'}: holds both Pulumi.yaml and Pulumi.yml; keep one")
    refs: list[StackRef] = []
    path_refs: list[PathRef] = []
    for path in sorted(snapshot):
        if path.endswith(CODE_SUFFIXES):
            refs.extend(find_stack_refs(path, snapshot[path]))
    for path in ci_files(snapshot):
        path_refs.extend(find_path_refs(path, snapshot[path]))
    return Discovery(projects, tuple(refs), tuple(path_refs))


def is_ci_file(path: str) -> bool:
    """Workflows, GitLab CI files, shell scripts and Makefiles: files whose paths follow moves."""
    name = path.rsplit("/", 1)[-1]
    in_workflows = parent(path) == ".github/workflows" and name.endswith((".yml", ".yaml"))
    gitlab = name == ".gitlab-ci.yml" or name.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml"))
    make = name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk")
    return in_workflows or gitlab or make or name.endswith((".sh", ".bash"))


def ci_files(snapshot: Snapshot) -> list[str]:
    """:func:`is_ci_file` files plus every file a GitLab CI file includes (``local:``), sorted."""
    found = {p for p in snapshot if is_ci_file(p)}
    queue = [p for p in found if "gitlab-ci" in p]
    while queue:
        for path in gitlab_includes(snapshot[queue.pop()]):
            if path in snapshot and path not in found:
                found.add(path)
                queue.append(path)
    return sorted(found)


def gitlab_includes(text: str) -> list[str]:
    """The repo-relative files a GitLab CI file includes locally (``include: local: /x.yml``)."""
    paths: list[str] = []
    in_include = False
    for line in text.splitlines():
        if re.match(r"^include:", line):
            in_include = True
            rest = line[len("include:") :].strip().strip("'\"")
            if rest.endswith((".yml", ".yaml")) and "://" not in rest:
                paths.append(rest.lstrip("/"))
            continue
        if in_include and line and not line[0].isspace():
            in_include = False
        if in_include and (match := _GITLAB_LOCAL.match(line)) and "://" not in line:
            paths.append(match["path"])
    return paths


def _project(snapshot: Snapshot, project_file: str) -> Project | None:
    document = load_yaml(snapshot[project_file], project_file)
    if not isinstance(document, CommentedMap) or not (
        document.get("name") or "runtime" in document
    ):
        return None  # named like a project file, but not one (no name, no runtime)
    if not document.get("name"):
        raise ConfigError(f"{project_file}:1: a Pulumi project needs a name", source=project_file)
    runtime = document.get("runtime")
    options: tuple[tuple[str, str], ...] = ()
    if isinstance(runtime, CommentedMap):
        raw = runtime.get("options") or {}
        if not isinstance(raw, dict):
            line = int(runtime.lc.key("options")[0]) + 1
            reason = f"{project_file}:{line}: runtime options must be a mapping"
            raise ConfigError(reason, source=project_file)
        options = tuple((str(k), str(v)) for k, v in raw.items())
        runtime = runtime.get("name")
    directory = parent(project_file)
    description = document.get("description")
    main = document.get("main")
    return Project(
        directory=directory,
        project_file=project_file,
        name=str(document["name"]),
        runtime=str(runtime),
        runtime_options=options,
        description=None if description is None else str(description),
        main=None if main is None else str(main),
        stacks=_stacks(snapshot, directory),
    )


def _stacks(snapshot: Snapshot, directory: str) -> tuple[StackConfig, ...]:
    stacks = []
    for path in sorted(snapshot):
        match = STACK_FILE.match(path[len(directory) + 1 :] if directory else path)
        if match is None or parent(path) != directory:
            continue
        document = load_yaml(snapshot[path], path)
        config = document.get("config") if isinstance(document, CommentedMap) else None
        keys = tuple(str(k) for k in config) if isinstance(config, CommentedMap) else ()
        stacks.append(StackConfig(match["stack"], path, keys))
    return tuple(stacks)


def find_stack_refs(path: str, text: str) -> list[StackRef]:
    """Every StackReference with a literal (or template) first argument in one code file."""
    return [
        StackRef(path, text.count("\n", 0, start) + 1, text[start:end])
        for start, end in stack_ref_spans(path, text)
    ]


def stack_ref_spans(path: str, text: str) -> list[tuple[int, int]]:
    """Where each literal StackReference target of a program file is (YAML programs too)."""
    pattern = _YAML_REF if path.rsplit("/", 1)[-1] in PROJECT_FILES else STACK_REF
    return [(m.start("target"), m.end("target")) for m in pattern.finditer(text)]


def find_path_refs(path: str, text: str) -> list[PathRef]:
    """``work-dir``/``working-directory`` values, ``paths`` filter items and ``cd`` targets."""
    found: list[PathRef] = []
    paths_indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        item = _LIST_ITEM.match(line)
        if paths_indent is not None and item and len(item["indent"]) >= paths_indent:
            found.append(PathRef(path, number, "paths", item["value"].strip("\"'")))
            continue
        paths_indent = None
        if (key := _PATHS_KEY.match(line)) is not None:
            paths_indent = len(key["indent"])
        elif (directory := _DIR_KEY.match(line)) is not None:
            kind: PathKind = "work-dir" if directory["key"] == "work-dir" else "working-directory"
            found.append(PathRef(path, number, kind, directory["value"].strip("\"'")))
        for cd in _CD.finditer(line):
            found.append(PathRef(path, number, "cd", cd["value"]))
    return found


def entry_point(project: Project, snapshot: Snapshot) -> str | None:
    """The program file Pulumi runs: ``main`` if it names a file, else the runtime's default."""
    if project.main is not None:
        main = join(project.directory, project.main.strip("/"))
        if main in snapshot:
            return main
        candidates = [join(main, n) for n in _ENTRY_POINTS]
    else:
        candidates = [join(project.directory, n) for n in _ENTRY_POINTS]
    if project.runtime == "yaml":
        candidates.append(project.project_file)
    return next((c for c in candidates if c in snapshot), None)


def owned_files(project: Project, discovery: Discovery, snapshot: Snapshot) -> tuple[str, ...]:
    """The files that move with ``project``, sorted.

    A project below the root owns its whole directory except any nested project's
    subtree. A root project owns only its own files: project and stack files, its
    program (``main``, or the default entry point) and, for nodejs, its package files.
    """
    if not project.is_root:
        nested = [p.directory for p in discovery.projects if p.directory != project.directory]
        nested = [d for d in nested if is_under(d, project.directory)]
        return tuple(
            path
            for path in sorted(snapshot)
            if is_under(path, project.directory) and not any(is_under(path, d) for d in nested)
        )
    owned = {project.project_file, *(s.path for s in project.stacks)}
    program = entry_point(project, snapshot)
    if project.main is not None and program is not None and project.main.strip("/") != program:
        main_dir = project.main.strip("/")
        owned.update(p for p in snapshot if is_under(p, main_dir))
    elif program is not None:
        owned.add(program)
    owned.update(n for n in _ROOT_COMPANIONS.get(project.runtime, ()) if n in snapshot)
    return tuple(sorted(owned))
