"""API routes, base paths, required variables and workspaces read from app config text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestra_ops.adapters.app_source import find_workspace
from orchestra_ops.domain.frontend.api_routes import literal_prefix, next_routes, vite_routes
from orchestra_ops.domain.frontend.code_env import code_reads
from orchestra_ops.domain.frontend.detect import Framework, Workspace, detect_app
from orchestra_ops.errors import ConfigError


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("/backend", "/backend"),
        ("^/backend/.*", "/backend"),
        ("^/auth$", "/auth"),
        ("^\\/v1\\/", "/v1"),
        ("/api/:path*", "/api"),
        ("/a/b", "/a/b"),
        ("^/(v1|v2)/", None),
        ("backend", None),
        (":tenant/api", None),
    ],
)
def test_literal_prefix(key: str, prefix: str | None) -> None:
    """A fixed path to route on, or None when the key has none."""
    assert literal_prefix(key) == prefix


VITE = """import { defineConfig } from 'vite'
// proxy: { '/commented': 'http://x' },
export default defineConfig(({ mode }) => ({
  base: "/tools/",
  plugins: [somePlugin({ proxy: { '/plugin': 'x' } })],
  server: {
    proxy: {
      "/graphql": { target: 'http://localhost:4000', ws: true },
      '/v2': { target: 'http://x', rewrite: (path) => path.replace(/^\\/v2/, '') },
      '/odd': { target: 'http://x', rewrite: (p) => p.toLowerCase() },
      [computed]: 'http://x',
      ...extra,
    },
  },
}))
"""


def test_vite_function_config_with_every_key_form() -> None:
    """Arrow config, quoted keys, a stripping rewrite; the unreadable ones are named."""
    routes = vite_routes({"vite.config.ts": VITE})
    assert [(r.prefix, r.strip) for r in routes.routes] == [("/graphql", False), ("/v2", True)]
    assert routes.base_path == "/tools"
    assert len(routes.unreadable) == 3
    assert all(u.startswith("vite.config.ts: server.proxy") for u in routes.unreadable)


def test_vite_without_proxy_or_with_a_cdn_base_has_no_routes() -> None:
    """No proxy: nothing is assumed; an absolute or relative base is not a path."""
    plain = vite_routes({"vite.config.js": "export default { base: 'https://cdn.x/' }"})
    assert plain.routes == () and plain.base_path == "" and plain.unreadable == ()
    assert vite_routes({}).routes == ()


def test_next_rewrites_external_only_with_base_path_rules() -> None:
    """Internal page rewrites are not API; basePath: false keeps the bare source."""
    text = """module.exports = {
      basePath: '/p',
      rewrites: async () => ({
        beforeFiles: [{ source: '/edge/:path*', destination: 'https://edge.x/:path*' }],
        fallback: [
          { source: '/raw/:path*', destination: process.env.RAW_URL + '/:path*', basePath: false },
          { source: '/old', destination: '/new' },
        ],
      }),
    }"""
    routes = next_routes({"next.config.js": text})
    assert routes.prefixes == ("/p/edge", "/raw")
    assert routes.own_rewrites and routes.base_path == "/p"


def test_next_rewrites_that_cannot_be_read_are_named() -> None:
    """A rewrites() built from a variable: the plan cannot tell, and says so."""
    text = (
        "const nextConfig = { async rewrites() { return buildRewrites() } }\n"
        "export default nextConfig"
    )
    routes = next_routes({"next.config.mjs": text})
    assert routes.routes == () and routes.unreadable


def test_reads_named_only_in_comments_are_not_reads() -> None:
    """Found on create-t3-turbo: a commented-out `// X: process.env.X,` refused the plan."""
    code = {
        "src/env.ts": (
            "export const env = {\n"
            "  // NEXT_PUBLIC_CLIENTVAR: process.env.NEXT_PUBLIC_CLIENTVAR,\n"
            "  /* API_SECRET: process.env.API_SECRET,\n     OLD: process.env.OLD */\n"
            "  url: 'https://x.example/a' + process.env.API_URL, // process.env.TRAILING\n"
            "  page: <p>Don't {process.env.AFTER_APOSTROPHE}</p>,\n"
            "  tpl: `${process.env.IN_TEMPLATE} // still code`,\n"
            "}\n"
        )
    }
    reads = {r.key: r.places for r in code_reads(Framework.NEXTJS, code)}
    assert reads == {
        "AFTER_APOSTROPHE": ("src/env.ts:6",),
        "API_URL": ("src/env.ts:5",),
        "IN_TEMPLATE": ("src/env.ts:7",),
    }


def test_code_reads_required_and_optional() -> None:
    """Empty fallbacks are no fallback; guards, ternaries and real defaults are."""
    code = {
        "src/a.ts": (
            "const a = import.meta.env.VITE_A ?? ''\n"
            "const b = import.meta.env.VITE_B || 'b'\n"
            "if (!import.meta.env.VITE_C) { warn() }\n"
            "const d = import.meta.env['VITE_D']\n"
            "const e = import.meta.env.VITE_E ? 1 : 2\n"
            "const m = import.meta.env.MODE\n"
        ),
        "src/b.ts": (
            "if (import.meta.env.VITE_F) {\n  use(import.meta.env.VITE_F)\n}\n"
            "use(import.meta.env.VITE_G)\n"
            "const h = import.meta.env.VITE_H ?? undefined\n"
            "const i = import.meta.env.VITE_I ?? fallbackUrl\n"
            "if (!import.meta.env.VITE_J) { throw new Error('VITE_J is required') }\n"
        ),
    }
    reads = {r.key: r.required for r in code_reads(Framework.VITE, code)}
    assert reads == {
        "VITE_A": True,
        "VITE_B": False,
        "VITE_C": False,
        "VITE_D": True,
        "VITE_E": False,
        "VITE_F": False,  # its reads sit in a file that tests it first
        "VITE_G": True,
        "VITE_H": True,  # undefined is no fallback
        "VITE_I": False,
        "VITE_J": True,  # tested only to throw without it
    }


def test_next_server_reads_skip_what_vercel_sets_and_plain_forwards() -> None:
    """VERCEL_*, NODE_ENV are Vercel's; next.config `env: {X: process.env.X}` forwards."""
    texts = {
        "next.config.js": "module.exports = { env: { KEY: process.env.KEY } }",
        "app/route.ts": "const u = process.env.DB_URL; const r = process.env.VERCEL_URL; "
        "const n = process.env.NODE_ENV",
    }
    reads = code_reads(Framework.NEXTJS, texts)
    assert [(r.key, r.required, r.places) for r in reads] == [("DB_URL", True, ("app/route.ts:1",))]


@pytest.mark.parametrize(
    ("dep", "name"),
    [
        ("@sveltejs/kit", "SvelteKit"),
        ("astro", "Astro"),
        ("react-scripts", "Create React App"),
        # found on t3-oss/create-t3-turbo: planned as a static SPA, though it builds a server
        ("@tanstack/react-start", "TanStack Start"),
        ("nitro", "Nitro"),
    ],
)
def test_unsupported_frameworks_are_refused_by_name(dep: str, name: str) -> None:
    """Even with vite among the dependencies."""
    package = {"devDependencies": {dep: "1", "vite": "8"}, "scripts": {"build": "x"}}
    with pytest.raises(ConfigError, match=f"{name} is not supported"):
        detect_app("web", {"package.json": json.dumps(package)})


APP = json.dumps({"name": "@m/web", "devDependencies": {"vite": "8"}, "scripts": {"build": "b"}})


@pytest.mark.parametrize(
    ("root_files", "install", "build"),
    [
        (
            {"pnpm-lock.yaml": ""},
            "pnpm install --frozen-lockfile",
            "pnpm --filter ./apps/web run build",
        ),
        (
            {"yarn.lock": "__metadata:\n  version: 8\n"},
            "yarn install --immutable",
            "yarn workspace @m/web run build",
        ),
        (
            {"yarn.lock": "# yarn lockfile v1\n"},
            "yarn install --frozen-lockfile",
            "yarn workspace @m/web run build",
        ),
    ],
)
def test_workspace_members_build_at_the_root(
    root_files: dict[str, str], install: str, build: str
) -> None:
    """pnpm, yarn berry and yarn classic workspaces: root install, member build."""
    workspace = Workspace("../..", "apps/web", {"package.json": "{}", **root_files})
    profile = detect_app("apps/web", {"package.json": APP}, workspace)
    assert (profile.install_command, profile.build_command) == (install, build)
    assert profile.workspace_root == "../.."


def test_find_workspace_reads_pnpm_globs_and_exclusions(tmp_path: Path) -> None:
    """A member by the root's globs; an excluded or undeclared app is not one."""
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - 'apps/*'\n  - '!apps/legacy'\n")
    (tmp_path / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    (tmp_path / "package.json").write_text("{}")
    for name in ("web", "legacy"):
        (tmp_path / "apps" / name).mkdir(parents=True)
    (tmp_path / "tools").mkdir()
    found = find_workspace(tmp_path, tmp_path / "apps" / "web")
    assert found is not None and (found.root, found.member) == ("../..", "apps/web")
    assert "pnpm-lock.yaml" in found.files
    assert find_workspace(tmp_path, tmp_path / "apps" / "legacy") is None
    assert find_workspace(tmp_path, tmp_path / "tools") is None


def test_a_workspace_star_stays_in_one_folder_and_a_double_star_spans_any(
    tmp_path: Path,
) -> None:
    """Found on vitejs/vite: packages/create-vite/template-react-ts was taken for a member
    of `packages/*` (fnmatch's * crosses /), and planned with a pnpm filter matching nothing."""
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - packages/*\n  - 'demos/**'\n")
    (tmp_path / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    (tmp_path / "package.json").write_text("{}")
    for folder in ("packages/create-vite/template-react-ts", "demos/a/b", "packages/ui"):
        (tmp_path / folder).mkdir(parents=True)
    assert find_workspace(tmp_path, tmp_path / "packages/create-vite/template-react-ts") is None
    member = find_workspace(tmp_path, tmp_path / "packages/ui")
    assert member is not None and member.member == "packages/ui"
    deep = find_workspace(tmp_path, tmp_path / "demos/a/b")
    assert deep is not None and deep.root == "../../.."


NEXT_APP = json.dumps({"dependencies": {"next": "16"}, "scripts": {"build": "next build"}})


def test_a_wrapped_next_config_needing_no_change_is_not_a_manual_edit_stop() -> None:
    """withAnalyzer({...}) and no standalone: nothing to edit, no /api assumed, no stop."""
    from orchestra_ops.domain.frontend.migration import plan_migration, refusal

    texts = {
        "package.json": NEXT_APP,
        "next.config.js": "module.exports = withAnalyzer({ reactStrictMode: true })\n",
    }
    plan = plan_migration("web", texts, "https://b.example", [], {})
    assert plan.api_prefixes == () and "next.config.js" not in plan.config_files
    assert refusal(plan) is None
    standalone = {**texts, "next.config.js": "module.exports = wrap({ output: 'standalone' })"}
    with pytest.raises(ConfigError, match="by hand"):
        plan_migration("web", standalone, "https://b.example", [], {})


def test_declared_prefixes_of_a_next_app_are_written_under_its_base_path() -> None:
    """api_prefixes ["/backend"] with basePath /p: rewrite /backend, probe /p/backend."""
    from orchestra_ops.domain.frontend.migration import plan_migration

    texts = {
        "package.json": NEXT_APP,
        "next.config.mjs": "const nextConfig = { basePath: '/p' }\nexport default nextConfig\n",
    }
    plan = plan_migration(
        "web", texts, "https://b.example", [], {}, declared_prefixes=("/p/backend",)
    )
    assert plan.api_prefixes == ("/p/backend",)
    edited = plan.config_files["next.config.mjs"]
    assert (
        "{ source: '/backend/:path*', destination: 'https://b.example/backend/:path*' }" in edited
    )
    assert "/api/:path*" not in edited


def test_a_next_config_with_its_own_rewrites_is_kept_not_a_manual_edit() -> None:
    """Once a bad-input case ("already has rewrites()"): its external rewrite is the API."""
    from orchestra_ops.domain.frontend.migration import plan_migration, refusal

    texts = {
        "package.json": NEXT_APP,
        "next.config.mjs": "export default {\n  async rewrites() {\n    return [{ source: "
        "'/docs/:path*', destination: 'https://docs.example.com/:path*' }]\n  },\n}\n",
    }
    plan = plan_migration("app", texts, "https://b.example", [], {})
    assert plan.api_prefixes == ("/docs",)
    assert "next.config.mjs" not in plan.config_files  # nothing to change in it
    assert refusal(plan) is None


@pytest.mark.parametrize(
    "destination",
    ["http://localhost:7000/:path*", "http://127.0.0.1:8000/api/:path*", "http://[::1]/:path*"],
)
def test_a_next_rewrite_to_a_development_address_is_refused_even_with_prefixes(
    destination: str,
) -> None:
    """Found from outside: the app's own rewrite to localhost was kept as it was, so
    production would have sent /portal/gw/* to an address Vercel cannot reach."""
    from orchestra_ops.domain.frontend.migration import plan_migration, refusal

    texts = {
        "package.json": NEXT_APP,
        "next.config.js": "module.exports = {\n  basePath: '/portal',\n  async rewrites() {\n"
        f"    return [{{ source: '/gw/:path*', destination: '{destination}' }}]\n  }},\n}}\n",
    }
    for declared in (None, ("/gw",)):
        plan = plan_migration("app", texts, "https://b.example", [], {}, declared_prefixes=declared)
        why = refusal(plan)
        assert why is not None and f"next.config.js: /gw/:path* -> {destination}" in why
        assert "development address" in why


def test_vite_config_function_with_a_body_is_read_through_its_single_return() -> None:
    """loadEnv first, then `return {...}`: the returned object is the config."""
    text = """export default defineConfig(({ mode }) => {
      const env = loadEnv(mode, process.cwd())
      return {
        server: { proxy: { '/rpc': env.RPC_TARGET, [env.EXTRA]: 'http://x' } },
      }
    })"""
    routes = vite_routes({"vite.config.js": text})
    assert routes.prefixes == ("/rpc",)  # its target is a variable: still the backend
    assert len(routes.unreadable) == 1  # the computed key


@pytest.mark.parametrize(
    ("engine", "version"),
    [("20.x", "20.x"), ("^22.11.0", "22.x"), ("22", "22.x"), (">=20", None), (None, None)],
)
def test_node_version_from_engines(engine: str | None, version: str | None) -> None:
    """One major line becomes Vercel's nodeVersion; an open range keeps Vercel's default."""
    from orchestra_ops.domain.frontend.migration import node_version

    assert node_version(engine) == version
