"""Property-based tests of every parser and generator: what they accept, and how they fail.

Two kinds of property. *Total*: on arbitrary (or arbitrary-but-shaped) input a parser
returns a value or raises its documented error, never anything else. *Round trip*: what
a generator writes, its parser reads back unchanged, and regenerating is byte-stable.
Runs are derandomised (no example database) so CI sees the same examples every time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shlex
import string
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from orchestra_ops.adapters.schema_validation import validate_sarif
from orchestra_ops.domain.frontend.detect import (
    AppProfile,
    Framework,
    PackageManager,
    detect_app,
)
from orchestra_ops.domain.frontend.env_sources import parse_compose, parse_dockerfile, parse_dotenv
from orchestra_ops.domain.frontend.migration import plan_migration
from orchestra_ops.domain.frontend.next_config import edit_next_config
from orchestra_ops.domain.frontend.vercel_config import generate_vercel_json
from orchestra_ops.domain.lambda_cloud import REGION_NAMES
from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import (
    NAME,
    check_mapping,
    parse_mapping,
    render_mapping,
)
from orchestra_ops.domain.reorg.model import MappingEntry, ReorgMapping
from orchestra_ops.domain.reorg.rewrite import rewrite_project_file, rewrite_stack_config
from orchestra_ops.domain.security.findings import Ecosystem, Finding
from orchestra_ops.domain.security.manifests import (
    canonical_name,
    npm_lock_versions,
    parse_requirements,
)
from orchestra_ops.domain.security.policy import Ignore, Policy, parse_policy
from orchestra_ops.domain.security.reports import (
    finding_from_dict,
    finding_to_dict,
    findings_from_report,
    json_report,
)
from orchestra_ops.domain.security.sarif import sarif_log
from orchestra_ops.domain.security.scan import ScanResult, lock_lines
from orchestra_ops.domain.security.severity import Severity
from orchestra_ops.domain.security.update_config import dependabot_config, to_yaml
from orchestra_ops.domain.stack_config import (
    CONFIG_KEYS_BACKEND,
    CONFIG_KEYS_SHARED,
    backend_config,
    shared_config,
)
from orchestra_ops.errors import ConfigError
from tests.property_budget import examples

FEW = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SOME = settings(FEW, max_examples=examples(80))
API = "https://api.example.com"

# --- strategies -----------------------------------------------------------------------

# Text without line breaks of any kind (str.splitlines honours \x1c-\x1e, \x85, \u2028...).
line_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=0, max_size=30
)
# What people write: letters, marks, digits, punctuation, symbols (emoji) and spaces.
human_text = st.text(
    st.characters(whitelist_categories=("L", "M", "N", "P", "S", "Zs")), max_size=30
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
env_keys = st.from_regex(r"[A-Z_][A-Z0-9_]{0,12}", fullmatch=True)
project_names = st.from_regex(NAME.pattern.replace("*$", "{0,15}$"), fullmatch=True)
path_segments = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,8}", fullmatch=True).filter(
    lambda s: s not in (".", "..") and not s.startswith("Pulumi.")
)
dirs = st.lists(path_segments, min_size=1, max_size=3).map("/".join)


def yamlish(words: list[str]) -> st.SearchStrategy[str]:
    """Text built from YAML-ish fragments, which reaches deeper than uniformly random text."""
    pieces = [
        *words,
        ": ",
        ":",
        "\n",
        "\n  ",
        "\n    ",
        "- ",
        "\t",
        "'",
        '"',
        "{",
        "}",
        "[",
        "]",
        ", ",
        "#",
        "&a ",
        "*a",
        "!!int ",
        "!!binary ",
        "2027-01-31",
        "2027-02-30",
        "null",
        "~",
        "3",
        "? ",
        "<<: ",
    ]
    return st.lists(st.sampled_from(pieces) | st.text(max_size=4), max_size=40).map("".join)


# --- frontend: package.json, vercel.json, next.config, env sources ---------------------


@SOME
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_package_json_reader_raises_only_config_errors(text: str) -> None:
    """Any package.json gives a profile or a ConfigError naming it."""
    try:
        profile = detect_app("app", {"package.json": text})
    except ConfigError as error:
        assert "app/package.json" in str(error)
    else:
        assert profile.framework in (Framework.VITE, Framework.NEXTJS)


@st.composite
def package_json(draw: st.DrawFn) -> dict[str, Any]:
    """A loosely well-formed package.json: the interesting keys with any JSON values."""
    keys = ["dependencies", "devDependencies", "scripts", "engines", "packageManager", "name"]
    package = draw(st.dictionaries(st.sampled_from(keys), json_values, max_size=6))
    if draw(st.booleans()):
        package["devDependencies"] = {draw(st.sampled_from(["vite", "next"])): "1.0.0"}
        package["scripts"] = {"build": "build"}
    return package


@SOME
@given(package_json(), st.sets(st.sampled_from(["package-lock.json", "yarn.lock", "bun.lockb"])))
def test_package_json_shapes_raise_only_config_errors(
    package: dict[str, Any], lockfiles: set[str]
) -> None:
    """Wrong types anywhere in package.json are refused as ConfigError, never a crash."""
    files = {"package.json": json.dumps(package), **{name: "" for name in lockfiles}}
    try:
        detect_app("app", files)
    except ConfigError as error:
        assert "app/package.json" in str(error)


profiles = st.builds(
    AppProfile,
    name=st.just("app"),
    framework=st.sampled_from(Framework),
    build_command=st.sampled_from(["npm run build", "yarn build"]),
    install_command=st.sampled_from(["npm ci", "pnpm install --frozen-lockfile"]),
    output_directory=st.sampled_from(["dist", "build", ".next"]),
    package_manager=st.sampled_from(PackageManager),
    node_engine=st.none() | st.just(">=18"),
    lockfile=st.none() | st.just("package-lock.json"),
)
backend_urls = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}", fullmatch=True),
    st.sampled_from(["", "/", "/v1", "/v1/"]),
)
vercel_keys = st.sampled_from(
    [
        "routes",
        "rewrites",
        "redirects",
        "headers",
        "builds",
        "functions",
        "version",
        "cleanUrls",
        "trailingSlash",
        "outputDirectory",
        "framework",
        "$schema",
        "regions",
    ]
)
existing_vercel = st.dictionaries(vercel_keys | st.text(max_size=6), json_values, max_size=5)


@SOME
@given(profiles, backend_urls, existing_vercel)
def test_vercel_json_is_valid_json_and_stable_when_regenerated(
    profile: AppProfile, url: str, existing: dict[str, Any]
) -> None:
    """From any existing file: a ConfigError, or JSON that regenerates byte-identically."""
    try:
        generated = generate_vercel_json(profile, url, existing)
    except ConfigError as error:
        assert "app/vercel.json" in str(error)
        return
    text = json.dumps(generated, indent=2, allow_nan=False)
    again = generate_vercel_json(profile, url, json.loads(text))
    assert json.dumps(again, indent=2) == text
    assert not ({"routes", "builds", "version"} & set(generated))
    if profile.framework is Framework.VITE:
        assert generated["rewrites"][-1] == {"source": "/(.*)", "destination": "/index.html"}


@FEW
@given(st.text(max_size=120) | json_values.map(json.dumps) | existing_vercel.map(json.dumps))
def test_any_vercel_json_text_is_planned_or_refused_naming_it(text: str) -> None:
    """The migration plan reads vercel.json text: any text gives a plan or a ConfigError."""
    package = json.dumps({"devDependencies": {"vite": "5"}, "scripts": {"build": "vite build"}})
    try:
        plan = plan_migration("app", {"package.json": package, "vercel.json": text}, API, [], {})
    except ConfigError as error:
        assert "app/vercel.json" in str(error)
    else:
        json.loads(plan.config_files.get("vercel.json", text))


js_strings = st.text(st.sampled_from(string.ascii_letters + ' {}[]()/*,:"`'), max_size=12).map(
    lambda s: f"'{s}'"
)
js_values = st.recursive(
    js_strings
    | st.sampled_from(["true", "false", "42", "`a${b}{`", '"}"', "/* } */ 1", "'it\\'s {'"]),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda v: "[" + ", ".join(v) + "]")
        | st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), inner), max_size=3).map(
            lambda kv: "{ " + ", ".join(f"{k}: {v}" for k, v in kv) + " }"
        )
    ),
    max_leaves=6,
)
js_entries = st.lists(
    st.tuples(
        st.sampled_from(["reactStrictMode", "images", "env", "basePath", "experimental"]), js_values
    ).map(lambda kv: f"{kv[0]}: {kv[1]},")
    | st.sampled_from(
        [
            "// output: 'standalone', needed in the old Docker image",
            "/* { rewrites } */",
            "// a } brace in a comment",
        ]
    ),
    max_size=5,
)


@SOME
@given(
    st.sampled_from(
        [
            "module.exports = ",
            "const nextConfig = ",
            "const nextConfig: NextConfig = ",
            "export default ",
        ]
    ),
    js_entries,
    st.booleans(),
    st.sampled_from(["  ", "    ", "\t"]),
    backend_urls,
)
def test_next_config_edit_is_idempotent_and_guards_the_real_setting(
    anchor: str, entries: list[str], standalone: bool, indent: str, url: str
) -> None:
    """Edited once, the file is final; a commented-out setting is never taken for the real one."""
    body = [*entries, *(["output: 'standalone',"] if standalone else [])]
    header = "/** @type {import('next').NextConfig} */\n"
    text = header + anchor + "{\n" + "".join(f"{indent}{line}\n" for line in body) + "}\n"
    edited = edit_next_config(text, "next.config.js", url)
    again = edit_next_config(edited.text, "next.config.js", url)
    assert again.text == edited.text and again.changes == ()
    assert edited.text.startswith(header + anchor + "{\n")
    assert edited.text.count("/api/:path*', destination") == 1
    assert f"\n{indent}output: 'standalone',\n" not in edited.text
    assert ("process.env.VERCEL" in edited.text) == standalone


@SOME
@given(st.sampled_from(["module.exports = {", "export default {", ""]), st.text(max_size=150))
def test_next_config_edit_raises_only_config_errors(prefix: str, text: str) -> None:
    """Whatever follows the config's opening brace: an edit or a ConfigError naming the file."""
    try:
        edit_next_config(prefix + text, "next.config.js", API)
    except ConfigError as error:
        assert "next.config.js" in str(error)


env_values = line_text.filter(lambda v: not v.startswith("$"))


@SOME
@given(st.dictionaries(env_keys, env_values, max_size=6), st.booleans())
def test_dotenv_round_trips_rendered_values(values: dict[str, str], export: bool) -> None:
    """``KEY="value"`` lines read back as written; an empty value counts as missing."""
    prefix = "export " if export else ""
    text = "# rendered\n" + "".join(f'{prefix}{k}="{v}"\n' for k, v in values.items())
    found = parse_dotenv(text, ".env")
    assert [(f.key, f.value) for f in found] == [(k, v or None) for k, v in values.items()]
    assert [f.line for f in found] == list(range(2, 2 + len(values)))


@SOME
@given(
    st.dictionaries(env_keys, env_values, min_size=1, max_size=5), st.sampled_from(["ENV", "ARG"])
)
def test_dockerfile_round_trips_shell_quoted_values(
    values: dict[str, str], instruction: str
) -> None:
    """``ENV K='v' ...`` (one line, shell-quoted) reads back every value exactly."""
    pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    found = parse_dockerfile(f"FROM node:20\n{instruction} {pairs}\n", "Dockerfile")
    assert [(f.key, f.value, f.line) for f in found] == [(k, v, 2) for k, v in values.items()]


@FEW
@given(st.dictionaries(env_keys, env_values, min_size=1, max_size=5), st.booleans())
def test_compose_round_trips_dumped_environment(values: dict[str, str], as_list: bool) -> None:
    """A compose file dumped by a YAML library reads back the environment it holds."""
    environment: Any = [f"{k}={v}" for k, v in values.items()] if as_list else values
    document = {"services": {"web": {"build": ".", "environment": environment}}}
    out = io.StringIO()
    YAML().dump(document, out)
    found = parse_compose(out.getvalue(), "compose.yml")
    assert [(f.key, f.value) for f in found] == list(values.items())


@SOME
@given(
    st.sampled_from(["dockerfile", "dotenv", "compose"]),
    st.text(max_size=150)
    | yamlish(["services", "build", "environment", "ENV", "ARG", "A=1", "$X"]),
)
def test_env_sources_raise_only_config_errors(kind: str, text: str) -> None:
    """Any Dockerfile, dotenv or compose text gives variables or a ConfigError naming it."""
    parser = {"dockerfile": parse_dockerfile, "dotenv": parse_dotenv, "compose": parse_compose}[
        kind
    ]
    try:
        parser(text, f"app/{kind}")
    except ConfigError as error:
        assert f"app/{kind}" in str(error)


# --- security: policy, requirements, npm lock, reports, generated config ---------------


@SOME
@given(
    st.text(max_size=150)
    | yamlish(
        ["threshold", "unknown_severity", "ignore", "packages", "id", "reason", "expires", "high"]
    )
)
def test_policy_parser_raises_only_config_errors(text: str) -> None:
    """Any policy text gives a Policy or a ConfigError naming the file."""
    try:
        parse_policy(text, "security-policy.yaml")
    except ConfigError as error:
        assert "security-policy.yaml" in str(error)


severities = st.sampled_from(Severity)
ignores = st.builds(
    Ignore,
    id=st.from_regex(
        r"(CVE-20[0-9]{2}-[0-9]{4,6}|GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})", fullmatch=True
    ),
    reason=line_text.filter(lambda r: r.strip() != ""),
    expires=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
)


@SOME
@given(
    severities,
    severities,
    st.lists(ignores, max_size=3),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), severities, max_size=3),
)
def test_policy_written_by_a_yaml_library_reads_back(
    threshold: Severity,
    unknown: Severity,
    ignore: list[Ignore],
    packages: dict[str, Severity],
) -> None:
    """Every field of a policy survives a YAML dump and parse."""
    document: dict[str, Any] = {"threshold": threshold.label, "unknown_severity": unknown.label}
    document["ignore"] = [{"id": i.id, "reason": i.reason, "expires": i.expires} for i in ignore]
    document["packages"] = {name: {"threshold": s.label} for name, s in packages.items()}
    out = io.StringIO()
    YAML().dump(document, out)
    assert parse_policy(out.getvalue()) == Policy(threshold, unknown, tuple(ignore), packages)


@SOME
@given(st.text(max_size=200) | st.lists(line_text, max_size=6).map("\n".join))
def test_requirement_parser_raises_only_config_errors(text: str) -> None:
    """Any requirements text gives pins or a short ConfigError naming the file and line."""
    try:
        pins = parse_requirements(text, "requirements.txt")
    except ConfigError as error:
        assert "requirements.txt:" in str(error)
        assert len(str(error)) < 200
    else:
        assert all(pin.line >= 1 and pin.name for pin in pins)


requirement_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True)
versions = st.from_regex(
    r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\.\*|[ab][0-9]|\.post[0-9])?", fullmatch=True
)


@FEW
@given(
    st.lists(
        st.tuples(
            requirement_names,
            st.sampled_from(["==", "===", ">=", "<=", "~=", "!=", ">", "<"]),
            versions,
            st.sampled_from(["", "[security]", "[a,b]"]),
            st.sampled_from(["", " ; python_version >= '3.11'", "  # pinned for CVE-1"]),
        ),
        max_size=6,
    )
)
def test_rendered_requirements_read_back(lines: list[tuple[str, str, str, str, str]]) -> None:
    """``name[extras] op version ; marker  # comment`` reads back name, operator and version."""
    text = "-r base.txt\n" + "".join(f"{n}{x}{op}{v}{tail}\n" for n, op, v, x, tail in lines)
    pins = parse_requirements(text, "requirements.txt")
    assert [(p.name, p.operator, p.version, p.line) for p in pins] == [
        (canonical_name(n), op, v, i) for i, (n, op, v, _, _) in enumerate(lines, start=2)
    ]
    assert [p.exact for p in pins] == [
        op in ("==", "===") and "*" not in v for _, op, v, _, _ in lines
    ]


npm_paths = st.lists(
    st.from_regex(r"(@[a-z]{1,5}/)?[a-z][a-z0-9._-]{0,10}", fullmatch=True), min_size=1, max_size=2
).map(lambda names: "node_modules/" + "/node_modules/".join(names))


@FEW
@given(st.dictionaries(npm_paths, versions, max_size=6))
def test_npm_lock_versions_and_lines_read_back(packages: dict[str, str]) -> None:
    """A lockfile v3 as npm writes it: every path's version, each on the line of its entry."""
    lock = {"name": "app", "lockfileVersion": 3, "packages": {"": {"name": "app"}}}
    lock["packages"].update({path: {"version": v, "dev": True} for path, v in packages.items()})
    text = json.dumps(lock, indent=2) + "\n"
    versions_read = npm_lock_versions(text, "package-lock.json")
    assert versions_read == packages
    lines = text.splitlines()
    for path, number in lock_lines(text, versions_read).items():
        assert lines[number - 1].strip() == f'"{path}": {{'
    assert set(lock_lines(text, versions_read)) == set(packages)


@SOME
@given(st.text(max_size=150) | json_values.map(json.dumps))
def test_npm_lock_reader_raises_only_config_errors(text: str) -> None:
    """Any lockfile text gives versions or a ConfigError naming the file."""
    try:
        npm_lock_versions(text, "package-lock.json")
    except ConfigError as error:
        assert "package-lock.json" in str(error)


vuln_ids = st.from_regex(
    r"(CVE-20[0-9]{2}-[0-9]{4,5}|GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}|PYSEC-20[0-9]{2}-[0-9]{1,3})",
    fullmatch=True,
)
findings = st.builds(
    Finding,
    ecosystem=st.sampled_from(Ecosystem),
    package=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    version=versions,
    ids=st.frozensets(vuln_ids, min_size=1, max_size=3),
    manifest=st.sampled_from(["requirements.txt", "web/package-lock.json", "api/requirements.txt"]),
    tools=st.frozensets(st.sampled_from(["pip-audit", "safety", "npm-audit"]), min_size=1),
    severity=st.none() | severities,
    cvss_score=st.none() | st.floats(0.1, 10.0),
    cvss_vector=st.none() | st.just("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    fixed_versions=st.lists(versions, max_size=2).map(tuple),
    line=st.none() | st.integers(1, 500),
    direct=st.booleans(),
    summary=line_text,
)


@FEW
@given(st.lists(findings, max_size=4, unique_by=lambda f: (f.manifest, f.package, f.version)))
def test_json_report_findings_read_back(found: list[Finding]) -> None:
    """What the JSON report writes (through real JSON), the next run's trend reads back."""
    result = ScanResult(manifests=(), findings=tuple(found), failures=(), unsupported=())
    policy = Policy()
    report = json_report(
        result,
        result.gate(policy, dt.date(2026, 1, 1)),
        policy,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert findings_from_report(json.loads(json.dumps(report))) == found
    for finding in found:
        assert finding_from_dict(json.loads(json.dumps(finding_to_dict(finding)))) == finding


@SOME
@given(json_values | st.dictionaries(st.sampled_from(["schema", "findings"]), json_values))
def test_report_reader_raises_only_value_errors(report: Any) -> None:
    """A damaged previous report is a ValueError (the trend is skipped), never a crash."""
    if isinstance(report, dict) and "findings" in report:
        report["schema"] = "orchestra-ops/security-report/1"
    try:
        findings_from_report(report)
    except ValueError:
        pass


@settings(FEW, max_examples=examples(15))
@given(st.lists(findings, max_size=4, unique_by=lambda f: (f.manifest, f.package, f.version)))
def test_sarif_of_any_findings_is_schema_valid(found: list[Finding]) -> None:
    """The SARIF log validates against the official schema, whatever the findings."""
    assert validate_sarif(sarif_log(found, "0.0.0")) == []


@settings(FEW, max_examples=examples(20))
@given(
    st.lists(dirs.map(lambda d: f"/{d}"), max_size=3),
    st.lists(dirs.map(lambda d: f"/{d}"), max_size=3),
)
def test_dependabot_yaml_reads_back(python_dirs: list[str], npm_dirs: list[str]) -> None:
    """The generated dependabot.yml parses back to the configuration it was written from."""
    config = dependabot_config(python_dirs, npm_dirs)
    text = to_yaml(config, header="# generated\n")
    assert json.loads(json.dumps(YAML(typ="safe").load(text))) == json.loads(json.dumps(config))
    assert to_yaml(config, header="# generated\n") == text


# --- reorganisation: Pulumi.yaml, stack files, the mapping --------------------------------


@SOME
@given(
    st.text(max_size=120) | yamlish(["name", "runtime", "options", "main", "description", "python"])
)
def test_project_file_reader_raises_only_config_errors(text: str) -> None:
    """Any Pulumi.yaml gives a project or a ConfigError naming the file."""
    snapshot = {"infra/Pulumi.yaml": text, "infra/__main__.py": "x = 1\n"}
    try:
        discover(snapshot)
    except ConfigError as error:
        assert "infra/Pulumi.yaml" in str(error)


@SOME
@given(st.text(max_size=120) | yamlish(["config", "aws:region", "app:size", "secure"]))
def test_stack_file_reader_raises_only_config_errors(text: str) -> None:
    """Any Pulumi.<stack>.yaml gives its keys or a ConfigError naming the file."""
    snapshot = {"infra/Pulumi.yaml": "name: app\nruntime: python\n", "infra/Pulumi.dev.yaml": text}
    try:
        discover(snapshot)
    except ConfigError as error:
        assert "infra/Pulumi.dev.yaml" in str(error)


@FEW
@given(
    project_names,
    project_names,
    st.none() | line_text,
    st.lists(st.sampled_from(["size", "port", "token"]), unique=True),
)
def test_project_and_stack_rewrites_read_back(
    old: str, new: str, description: str | None, keys: list[str]
) -> None:
    """A renamed project file and its stack file: discovery reads the new name and keys."""
    assume(old != new and "aws" not in (old, new))
    project = f"# the project\nname: {old}\nruntime: python\ndescription: first\n"
    stack = "config:\n  aws:region: eu-west-1  # kept\n" + "".join(
        f"  {old}:{k}: '1'\n" for k in keys
    )
    renamed_project = rewrite_project_file(project, "Pulumi.yaml", new, description, old)
    renamed_stack = rewrite_stack_config(stack, "Pulumi.dev.yaml", old, new)
    found = discover({"Pulumi.yaml": renamed_project, "Pulumi.dev.yaml": renamed_stack})
    (only,) = found.projects
    assert only.name == new
    assert only.description == ("first" if description is None else description)
    assert only.stacks[0].keys == ("aws:region", *(f"{new}:{k}" for k in keys))
    assert renamed_project.startswith("# the project\n")
    assert renamed_stack == stack.replace(f"  {old}:", f"  {new}:")


@SOME
@given(
    st.text(max_size=150)
    | yamlish(
        ["org", "branch", "projects", "source", "target", "name", "description", ".", "a/b", ".."]
    )
)
def test_mapping_parser_raises_only_config_errors(text: str) -> None:
    """Any reorg.yaml gives a mapping or a ConfigError naming the file."""
    try:
        parse_mapping(text, "reorg.yaml")
    except ConfigError as error:
        assert "reorg.yaml" in str(error)


REPO = {
    "web/Pulumi.yaml": "name: web\nruntime: nodejs\n",
    "web/index.ts": "export {};\n",
    "api/Pulumi.yaml": "name: api\nruntime: python\n",
    "api/__main__.py": "x = 1\n",
    "infra/db/Pulumi.yaml": "name: db\nruntime: python\n",
    "infra/db/__main__.py": "x = 1\n",
}
targets = (
    st.sampled_from(
        [
            "web",
            "api",
            "infra/db",
            "infra",
            "deploy/x",
            "deploy/x/y",
            "../out",
            "deploy/Pulumi.dev.yaml",
            "deploy/Pulumi.yaml",
            ".",
        ]
    )
    | dirs
)


@SOME
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["web", "api", "infra/db", "nowhere"]),
            targets,
            st.sampled_from(["web", "api", "db", "n1", "n2"]),
        ),
        max_size=4,
    )
)
def test_mapping_validation_accepts_or_raises_its_documented_error(
    rows: list[tuple[str, str, str]],
) -> None:
    """Any mapping over a known repo is accepted (and then one project per place) or refused."""
    text = "projects:\n" + "".join(
        f"  - source: {s}\n    target: {t}\n    name: {n}\n" for s, t, n in rows
    )
    discovery = discover(REPO)
    try:
        mapping = parse_mapping(text, "reorg.yaml")
        check_mapping(mapping, discovery)
    except ConfigError as error:
        assert str(error).startswith("reorg.yaml:")
        return
    moved = {e.source: e.target for e in mapping.entries}
    final = [moved.get(p.directory, p.directory) for p in discovery.projects]
    assert len(set(final)) == len(final)
    names = [e.name for e in mapping.entries]
    assert len(set(names)) == len(names)


@SOME
@given(
    st.lists(st.tuples(dirs, dirs, project_names, st.none() | human_text), max_size=4),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
)
def test_rendered_mapping_reads_back(
    rows: list[tuple[str, str, str, str | None]], org: str
) -> None:
    """render_mapping writes what parse_mapping reads: paths, names and descriptions alike."""
    entries = tuple(MappingEntry(s, t, n, d) for s, t, n, d in rows)
    mapping = ReorgMapping(org, "orchestra-ops/pulumi-reorg", entries)
    parsed = parse_mapping(render_mapping(mapping))
    assert (parsed.org, parsed.branch) == (mapping.org, mapping.branch)
    assert [(e.source, e.target, e.name, e.description) for e in parsed.entries] == list(rows)


# --- stack configuration of the programs ----------------------------------------------


raw_values = (
    st.none()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "0",
            "-1",
            "3",
            "1e309",
            "nan",
            "inf",
            "true",
            "False",
            "us-west-1",
            '["us-west-1"]',
            "[1]",
            "[",
            "gpu_1x_a10",
            "blue",
            '["blue","green"]',
        ]
    )
)


@SOME
@given(st.dictionaries(st.sampled_from(CONFIG_KEYS_BACKEND), raw_values, max_size=8))
def test_backend_config_accepts_sane_values_or_names_the_key(raw: dict[str, str | None]) -> None:
    """Any raw backend config gives sane settings or a ConfigError naming the key."""
    try:
        cfg = backend_config(raw, "dev")
    except ConfigError as error:
        assert error.source is not None and error.source.startswith("orchestra-backend:")
        assert error.source in str(error)
        return
    assert cfg.instance_type and cfg.count >= 1
    assert cfg.regions and set(cfg.regions) <= set(REGION_NAMES)
    assert 0 < cfg.active_timeout_s < float("inf") and 0 < cfg.poll_s < float("inf")


@SOME
@given(st.dictionaries(st.sampled_from(CONFIG_KEYS_SHARED), raw_values, max_size=7))
def test_shared_config_accepts_sane_values_or_names_the_key(raw: dict[str, str | None]) -> None:
    """Any raw shared config gives sane settings or a ConfigError naming the key."""
    try:
        cfg = shared_config(raw, "dev")
    except ConfigError as error:
        assert error.source is not None and error.source.startswith("orchestra-shared:")
        assert error.source in str(error)
        return
    assert cfg.region in REGION_NAMES
