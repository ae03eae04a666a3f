"""Build Output routing conditions, status-only routes and overrides (pure); over
loopback HTTP, file names with ``#`` or ``?`` served percent-encoded, and what a source
deploy serves (public/, never vercel.json, cleanUrls index redirects)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from orchestra_ops.sandbox.vercel import build_output as output
from orchestra_ops.sandbox.vercel.conditions import RequestFacts
from orchestra_ops.sandbox.vercel.routing import NotFound, Serve
from tests.sandbox.vercel_tools import Served, served_emulator


def _built(routes: list[dict[str, object]], **config: object) -> output.BuildOutput:
    files = {
        output.CONFIG: json.dumps({"version": 3, "routes": routes, **config}).encode(),
        output.STATIC + "index.html": b"home",
        output.STATIC + "beta.html": b"beta",
        output.STATIC + "about.html": b"about",
    }
    return output.load(files)


def _facts(query: str = "", **headers: str) -> RequestFacts:
    return RequestFacts.of({k.replace("_", "-"): v for k, v in headers.items()}, query)


def test_has_and_missing_conditions_gate_routes() -> None:
    """header, cookie, query and host conditions; value is a full-match pattern."""
    built = _built(
        [
            {"src": "^/$", "dest": "/beta.html", "has": [{"type": "cookie", "key": "beta"}]},
            {
                "src": "^/$",
                "dest": "/about.html",
                "has": [{"type": "query", "key": "v", "value": "a.*"}],
            },
            {
                "src": "^/$",
                "dest": "/beta.html",
                "has": [{"type": "header", "key": "X-Beta", "value": "1"}],
            },
            {"src": "^/$", "dest": "/about.html", "has": [{"type": "host", "value": "about\\..*"}]},
            {"src": "^/x$", "dest": "/beta.html", "missing": [{"type": "header", "key": "x-no"}]},
        ]
    )
    assert output.route(built, "/", "", _facts()) == Serve("index.html")
    assert output.route(built, "/", "", _facts(cookie="beta=1; a=b")) == Serve("beta.html")
    assert output.route(built, "/", "v=abc", _facts("v=abc")) == Serve("about.html")
    assert output.route(built, "/", "v=b", _facts("v=b")) == Serve("index.html")
    assert output.route(built, "/", "", _facts(x_beta="1")) == Serve("beta.html")
    assert output.route(built, "/", "", _facts(x_beta="12")) == Serve("index.html")
    assert output.route(built, "/", "", _facts(host="about.example.com:80")) == Serve("about.html")
    assert output.route(built, "/x", "", _facts()) == Serve("beta.html")
    assert isinstance(output.route(built, "/x", "", _facts(x_no="")), NotFound)


def test_status_only_route_answers_its_status() -> None:
    """``{"src": "^/s$", "status": 403}`` is a 403, not a filesystem miss's 404."""
    built = _built([{"src": "^/s$", "status": 403}, {"src": "^/about.html$", "status": 410}])
    assert output.route(built, "/s", "") == NotFound({}, 403)
    assert output.route(built, "/about.html", "") == Serve("about.html", 410)
    assert output.route(built, "/", "") == Serve("index.html")


def test_an_override_moves_the_file_off_its_original_path() -> None:
    """about.html renamed to about: /about serves it, /about.html is a miss."""
    built = _built([], overrides={"about.html": {"path": "about"}})
    assert output.route(built, "/about", "") == Serve("about")
    assert isinstance(output.route(built, "/about.html", ""), NotFound)


@pytest.fixture
def served() -> Iterator[Served]:
    with served_emulator() as world:
        yield world


def test_edge_serves_hash_and_question_mark_names_percent_encoded(served: Served) -> None:
    """/h%23x.txt finds "h#x.txt", /q%3Fx.txt finds "q?x.txt"; a status-only route's
    status reaches the client."""
    files = {
        "h#x.txt": b"hash",
        "q?x.txt": b"question",
        output.CONFIG: json.dumps(
            {"version": 3, "routes": [{"src": "^/s$", "status": 403}]}
        ).encode(),
        output.STATIC + "index.html": b"built",
    }
    with served.api() as api:
        listed = []
        for name, raw in files.items():
            sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
            api.post("/v2/files", content=raw, headers={"x-vercel-digest": sha})
            listed.append({"file": name, "sha": sha})
        plain = api.post("/v13/deployments", json={"name": "a", "files": listed[:2]}).json()
        built = api.post("/v13/deployments", json={"name": "b", "files": listed[2:]}).json()
    assert served.edge(plain["url"], "/h%23x.txt").text == "hash"
    assert served.edge(plain["url"], "/q%3Fx.txt?v=1").text == "question"
    assert served.edge(plain["url"], "/h").status_code == 404
    assert served.edge(built["url"], "/s").status_code == 403
    assert served.edge(built["url"], "/").text == "built"


def _source_deploy(served: Served, files: dict[str, bytes]) -> str:
    with served.api() as api:
        listed = []
        for name, raw in files.items():
            sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
            api.post("/v2/files", content=raw, headers={"x-vercel-digest": sha})
            listed.append({"file": name, "sha": sha})
        answer = api.post("/v13/deployments", json={"name": "src", "files": listed})
    return str(answer.json()["url"])


def test_source_deploy_serves_public_and_never_vercel_json(served: Served) -> None:
    """No framework and a public/ dir: public/ is the output, as vercel build picks it;
    vercel.json stays private; cleanUrls sends /index and /docs/index to / and /docs."""
    config = json.dumps({"cleanUrls": True}).encode()
    url = _source_deploy(
        served,
        {
            "vercel.json": config,
            "package.json": b"{}",
            "public/index.html": b"public home",
            "public/docs/index.html": b"docs",
        },
    )
    assert served.edge(url, "/").text == "public home"
    assert served.edge(url, "/docs").text == "docs"
    assert served.edge(url, "/package.json").status_code == 404
    assert served.edge(url, "/vercel.json").status_code == 404
    for path, target in [("/index", "/"), ("/docs/index", "/docs"), ("/docs/index.html", "/docs")]:
        moved = served.edge(url, path)
        assert (moved.status_code, moved.headers["location"]) == (308, target)
    root = _source_deploy(served, {"vercel.json": config, "index.html": b"root"})
    assert served.edge(root, "/").text == "root"
    assert served.edge(root, "/vercel.json").status_code == 404
