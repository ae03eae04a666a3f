"""Pure vercel.json routing of the sandbox edge."""

from __future__ import annotations

from typing import Any

import pytest

from orchestra_ops.sandbox.vercel.routing import (
    MIXED_ROUTES_MESSAGE,
    NotFound,
    Proxy,
    Redirect,
    Serve,
    compile_source,
    find_file,
    route,
    substitute,
    validate_config,
)

FILES = {"index.html", "about.html", "docs/index.html", "assets/app.js", "blog/post.html"}


def exists(path: str) -> bool:
    return path in FILES


def decide(config: dict[str, Any], path: str, query: str = "") -> Any:
    return route(config, path, query, exists)


@pytest.mark.parametrize(
    ("source", "path", "params"),
    [
        ("/blog/:slug", "/blog/hello", {"slug": "hello"}),
        ("/api/:path*", "/api/a/b/c", {"path": "a/b/c"}),
        ("/api/:path*", "/api", {"path": None}),
        ("/files/:name+", "/files/x/y", {"name": "x/y"}),
        ("/user/:id(\\d+)", "/user/42", {"id": "42"}),
        ("/opt/:lang?", "/opt", {"lang": None}),
    ],
)
def test_sources_match_path_to_regexp_style(source: str, path: str, params: dict[str, Any]) -> None:
    """Named parameters with modifiers and custom patterns match as on Vercel."""
    match = compile_source(source).fullmatch(path)
    assert match is not None
    assert match.groupdict() == params


def test_sources_reject_what_they_should() -> None:
    """A single-segment parameter does not cross slashes; custom patterns constrain."""
    assert compile_source("/blog/:slug").fullmatch("/blog/a/b") is None
    assert compile_source("/user/:id(\\d+)").fullmatch("/user/abc") is None
    assert compile_source("/files/:name+").fullmatch("/files") is None


def test_substitute_named_and_numbered() -> None:
    """``:name`` and ``$1`` both fill; ports in absolute URLs stay intact."""
    match = compile_source("/api/:path*").fullmatch("/api/v1/users")
    assert match is not None
    assert substitute("http://127.0.0.1:8080/:path", match) == "http://127.0.0.1:8080/v1/users"
    numbered = compile_source("/old/(.*)").fullmatch("/old/a/b")
    assert numbered is not None
    assert substitute("/new/$1", numbered) == "/new/a/b"


def test_filesystem_wins_and_directory_index() -> None:
    """Existing files are served; a directory serves its index.html."""
    assert decide({}, "/") == Serve("index.html")
    assert decide({}, "/assets/app.js") == Serve("assets/app.js")
    assert decide({}, "/docs/") == Serve("docs/index.html")
    assert decide({}, "/docs") == Serve("docs/index.html")
    assert decide({}, "/missing") == NotFound()


def test_spa_fallback_never_hides_assets() -> None:
    """A catch-all rewrite to /index.html serves the app for unknown paths only."""
    config = {"rewrites": [{"source": "/(.*)", "destination": "/index.html"}]}
    assert decide(config, "/dashboard/settings") == Serve("index.html")
    assert decide(config, "/assets/app.js") == Serve("assets/app.js")


def test_rewrite_to_loopback_is_a_proxy_with_query() -> None:
    """An absolute destination is proxied, with the request query passed on."""
    config = {"rewrites": [{"source": "/api/:path*", "destination": "http://127.0.0.1:9/:path*"}]}
    assert decide(config, "/api/users/1", "x=1") == Proxy("http://127.0.0.1:9/users/1?x=1")


def test_redirects_permanent_temporary_and_status() -> None:
    """permanent -> 308, not permanent -> 307, statusCode wins; params fill in."""
    config = {
        "redirects": [
            {"source": "/old/:slug", "destination": "/new/:slug"},
            {"source": "/temp", "destination": "/about", "permanent": False},
            {"source": "/gone", "destination": "https://example.com/", "statusCode": 301},
        ]
    }
    assert decide(config, "/old/x", "a=b") == Redirect("/new/x?a=b", 308)
    assert decide(config, "/temp") == Redirect("/about", 307)
    assert decide(config, "/gone") == Redirect("https://example.com/", 301)


def test_headers_apply_to_matching_paths_even_on_redirects() -> None:
    """Headers rules add headers; later rules override earlier ones."""
    config = {
        "headers": [
            {"source": "/(.*)", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]},
            {"source": "/assets/(.*)", "headers": [{"key": "Cache-Control", "value": "max"}]},
        ],
        "redirects": [{"source": "/r", "destination": "/"}],
    }
    served = decide(config, "/assets/app.js")
    assert served.headers == {"X-Frame-Options": "DENY", "Cache-Control": "max"}
    assert decide(config, "/r").headers == {"X-Frame-Options": "DENY"}


def test_clean_urls_serve_and_redirect() -> None:
    """cleanUrls serves /about from about.html and redirects .html paths away."""
    config = {"cleanUrls": True}
    assert decide(config, "/about") == Serve("about.html")
    assert decide(config, "/about.html") == Redirect("/about", 308)
    assert decide(config, "/index.html") == Redirect("/", 308)
    assert decide({}, "/about") == NotFound()


def test_trailing_slash_both_ways() -> None:
    """trailingSlash true adds one (not to files), false removes it."""
    assert decide({"trailingSlash": True}, "/docs") == Redirect("/docs/", 308)
    assert decide({"trailingSlash": True}, "/assets/app.js") == Serve("assets/app.js")
    assert decide({"trailingSlash": False}, "/docs/") == Redirect("/docs", 308)
    assert decide({"trailingSlash": False}, "/") == Serve("index.html")


def test_custom_404_page() -> None:
    """A 404.html is served with status 404 when nothing matches."""
    assert route({}, "/nope", "", lambda p: p == "404.html") == Serve("404.html", 404)


def test_find_file_candidates() -> None:
    """File, .html with clean URLs, then index.html."""
    assert find_file("/blog/post", exists, clean_urls=True) == "blog/post.html"
    assert find_file("/blog/post", exists) is None


def test_validate_config() -> None:
    """Mixing routes with modern keys, and functions with builds, are errors."""
    assert validate_config({"routes": [], "rewrites": []}) == [MIXED_ROUTES_MESSAGE]
    assert validate_config({"functions": {}, "builds": []})[0].startswith("FUNCTIONS_AND_BUILDS")
    assert validate_config({"builds": [], "rewrites": []}) == []
    assert validate_config({"rewrites": [{"destination": "/"}]})
    assert validate_config({"cleanUrls": True, "rewrites": []}) == []
