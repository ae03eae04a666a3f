"""vercel.json in the modern schema, and the check against mixing legacy routing.

Vercel refuses a file that has ``routes`` together with ``rewrites``, ``redirects``,
``headers``, ``cleanUrls`` or ``trailingSlash``. A legacy file (``version: 2``,
``builds``, ``routes``, as in the roadmap plan) is translated into modern keys:
``builds[].config.distDir`` becomes ``outputDirectory``, a ``routes`` entry
``/api/(.*) -> https://host/api/$1`` becomes a rewrite, ``/(.*) -> /index.html`` the SPA
fallback. Routes that do more than that cannot be translated safely and are refused.
"""

from __future__ import annotations

import re
from typing import Any

from orchestra_ops.domain.frontend.api_routes import ApiRoutes
from orchestra_ops.domain.frontend.detect import AppProfile, Framework
from orchestra_ops.errors import ConfigError

SCHEMA_URL = "https://openapi.vercel.sh/vercel.json"
MODERN_ROUTING = ("rewrites", "redirects", "headers", "cleanUrls", "trailingSlash")
LEGACY = ("routes", "builds", "version")
_SECURITY_HEADERS = [
    {"key": "X-Content-Type-Options", "value": "nosniff"},
    {"key": "Referrer-Policy", "value": "strict-origin-when-cross-origin"},
]
_ROUTE_KEYS = {"src", "dest"}
_KEY_ORDER = (
    "$schema",
    "framework",
    "installCommand",
    "buildCommand",
    "outputDirectory",
    "rewrites",
    "redirects",
    "headers",
)
_CAPTURE = re.compile(r"\$(\d)")


def check_not_mixed(config: dict[str, Any], source: str) -> None:
    """Refuse a vercel.json that mixes ``routes`` with the modern routing keys."""
    modern = [key for key in MODERN_ROUTING if key in config]
    if "routes" in config and modern:
        raise ConfigError(
            f"{source}: `routes` cannot be used together with {', '.join(f'`{k}`' for k in modern)}"
            " (Vercel rejects the file; see vercel.link/mix-routing-props). Keep one style: "
            "Orchestra Ops writes rewrites/headers, so remove `routes`.",
            source=source,
        )
    if "functions" in config and "builds" in config:
        raise ConfigError(
            f"{source}: `functions` cannot be used together with `builds` "
            "(FUNCTIONS_AND_BUILDS); remove `builds`.",
            source=source,
        )


def _translate_route(route: Any, source: str) -> dict[str, str] | None:
    """One legacy route as a rewrite; None for the SPA catch-all (generated anyway)."""
    if not isinstance(route, dict) or set(route) - _ROUTE_KEYS or not _ROUTE_KEYS <= set(route):
        raise ConfigError(
            f"{source}: route {route!r} does more than src -> dest; translate it by hand "
            "into `rewrites`, `redirects` or `headers`",
            source=source,
        )
    src, dest = str(route["src"]), str(route["dest"])
    if src in ("/(.*)", "/.*") and dest == "/index.html":
        return None
    if src.endswith("/(.*)") and dest.endswith("/$1") and src.count("(") == 1:
        return {"source": src[: -len("(.*)")] + ":path*", "destination": dest[:-2] + ":path*"}
    if "(" not in src and not _CAPTURE.search(dest):
        return {"source": src, "destination": dest}
    raise ConfigError(
        f"{source}: route {src} -> {dest} uses captures Orchestra Ops cannot translate "
        "safely; write it as a rewrite by hand",
        source=source,
    )


def _objects(config: dict[str, Any], key: str, source: str, *, strict: bool = True) -> list[Any]:
    """``config[key]`` as a list (empty when absent) of objects; ConfigError otherwise.

    ``strict=False`` leaves the items to the caller (routes explain their own refusal).
    """
    value = config.get(key) or []
    if not isinstance(value, list) or (strict and not all(isinstance(i, dict) for i in value)):
        raise ConfigError(f"{source}: `{key}` must be a list of objects", source=source)
    return value


def translate_legacy(config: dict[str, Any], source: str) -> dict[str, Any]:
    """Modern equivalents of a legacy file's ``builds`` and ``routes``; other keys kept."""
    check_not_mixed(config, source)
    modern = {k: v for k, v in config.items() if k not in LEGACY}
    for index, build in enumerate(_objects(config, "builds", source)):
        build_config = build.get("config") or {}
        if not isinstance(build_config, dict):
            reason = f"`builds[{index}].config` must be an object"
            raise ConfigError(f"{source}: {reason}", source=source)
        if dist_dir := build_config.get("distDir"):
            modern.setdefault("outputDirectory", str(dist_dir))
    routes = _objects(config, "routes", source, strict=False)
    rewrites = [r for r in (_translate_route(x, source) for x in routes) if r]
    if rewrites:
        modern["rewrites"] = [*_objects(modern, "rewrites", source), *rewrites]
    return modern


def _api_rewrite(backend_api_url: str, prefix: str, strip: bool) -> dict[str, str]:
    base = backend_api_url.rstrip("/")
    return {"source": f"{prefix}/:path*", "destination": f"{base}{'' if strip else prefix}/:path*"}


def _base_rewrite(base_path: str) -> dict[str, str]:
    """Vite built with ``base: '/admin/'`` links its files under /admin/; Vercel serves
    the output at the root, so a file path under the base is served from the root."""
    return {"source": f"{base_path}/:file(.*\\..*)", "destination": "/:file"}


def generate_vercel_json(
    profile: AppProfile,
    backend_api_url: str,
    existing: dict[str, Any] | None = None,
    routes: ApiRoutes | None = None,
) -> dict[str, Any]:
    """The vercel.json for ``profile``: build settings, the API rewrites, SPA fallback.

    One rewrite per API route of the app's config (``routes``), before the SPA
    catch-all so it never swallows them. Keys of an existing (translated) file that
    Orchestra Ops does not own are kept. Next.js apps route in next.config instead
    (their own API routes must keep working), so their vercel.json carries no rewrites.
    """
    source = f"{profile.name}/vercel.json"
    routes = routes or ApiRoutes()
    config = translate_legacy(existing, source) if existing else {}
    generated = [_api_rewrite(backend_api_url, r.prefix, r.strip) for r in routes.routes]
    if routes.base_path:
        generated.append(_base_rewrite(routes.base_path))
    ours = {"/(.*)", "/:path*", *(r["source"] for r in generated)}
    rewrites = [r for r in _objects(config, "rewrites", source) if r.get("source") not in ours]
    if profile.framework is Framework.VITE:
        rewrites = [*generated, *rewrites, {"source": "/(.*)", "destination": "/index.html"}]
    at_root = f"cd {profile.workspace_root} && " if profile.workspace_root else ""
    result: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "framework": profile.framework.value,
        "installCommand": at_root + profile.install_command,
        "buildCommand": at_root + profile.build_command,
        **{k: v for k, v in config.items() if k not in ("$schema", "rewrites")},
    }
    if profile.framework is Framework.VITE:
        result.setdefault("outputDirectory", profile.output_directory)
    result["framework"] = profile.framework.value
    if rewrites:
        result["rewrites"] = rewrites
    result.setdefault("headers", [{"source": "/(.*)", "headers": _SECURITY_HEADERS}])
    check_not_mixed(result, source)
    # A fixed key order makes the file byte-identical when regenerated from itself.
    ordered = [k for k in _KEY_ORDER if k in result] + sorted(set(result) - set(_KEY_ORDER))
    return {key: result[key] for key in ordered}
