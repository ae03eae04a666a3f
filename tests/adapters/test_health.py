"""HTTP probes and the gate loop, against a real server on loopback."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from orchestra_ops.adapters.health import HttpProber
from orchestra_ops.domain.health import GateState, HealthPolicy
from orchestra_ops.health_gate import wait_healthy
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread


class Backend:
    """Answers by Host header; a list of statuses to play back, then 200."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.hosts: list[str] = []

    def app(self) -> Starlette:
        async def page(request: Request) -> PlainTextResponse:
            self.hosts.append(request.headers["host"])
            status = self.statuses.pop(0) if self.statuses else 200
            return PlainTextResponse(f"Orchestra {request.url.path}", status_code=status)

        return Starlette(routes=[Route("/{path:path}", page)])


@pytest.fixture
def backend() -> Iterator[tuple[Backend, ServedApp]]:
    state = Backend()
    with serve_in_thread(state.app()) as served:
        yield state, served


def test_probe_through_an_edge_sends_the_hostname(backend: tuple[Backend, ServedApp]) -> None:
    """With an edge, the deployment hostname travels in the Host header."""
    state, served = backend
    prober = HttpProber(edge_url=served.url)
    result = prober.probe("https://admin-abc.vercel.app/health?x=1", marker="Orchestra /health")
    prober.close()
    assert (result.status, result.marker_seen) == (200, True)
    assert state.hosts == ["admin-abc.vercel.app"]


def test_refused_connection_is_a_result_not_an_exception() -> None:
    """A probe never raises: no answer is a result with its reason."""
    prober = HttpProber(timeout_s=1)
    result = prober.probe("http://127.0.0.1:1/")
    prober.close()
    assert result.status is None
    assert result.error == "ConnectError"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@contextlib.contextmanager
def _https(cert: Path, key: Path) -> Iterator[str]:
    """An HTTPS server on loopback with ``cert``; its base URL."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server whose certificate no CA signed."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
        *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
    )
    with _https(cert, key) as url:
        yield url


@pytest.fixture
def private_ca_https(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server whose certificate a private CA signed; its URL and the CA file."""
    ca_key, ca, key, request, cert, names = (
        tmp_path / name for name in ("ca.key", "ca.pem", "key.pem", "req.csr", "cert.pem", "san")
    )
    names.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA"),
        *("-keyout", str(ca_key), "-out", str(ca)),
    )
    _openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"),
        *("-keyout", str(key), "-out", str(request)),
    )
    _openssl(
        *("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-days", "1", "-extfile", str(names), "-out", str(cert)),
    )
    with _https(cert, key) as url:
        yield url, ca


def test_every_prober_still_verifies_certificates(self_signed_https: str) -> None:
    """Clients share one TLS context (loaded once per process): it still refuses a
    certificate no trusted CA signed, for the first client and the next alike."""
    for _ in range(2):
        with HttpProber(timeout_s=5) as prober:
            result = prober.probe(self_signed_https)
        assert result.status is None
        assert result.error == "ConnectError"


def test_a_ca_bundle_named_or_renewed_while_the_process_runs_is_used(
    private_ca_https: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A long-lived process (a served flow, the sandbox) sees SSL_CERT_FILE set after its
    first client, and the bundle it names rewritten in place, as a new process would."""
    url, ca = private_ca_https
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text())  # the public CAs, not ours
    with HttpProber(timeout_s=5) as prober:
        assert prober.probe(url).error == "ConnectError"  # certifi's CAs do not know it
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with HttpProber(timeout_s=5) as prober:
        assert prober.probe(url).status == 200
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    with HttpProber(timeout_s=5) as prober:
        assert prober.probe(url).error == "ConnectError"
    bundle.write_text(ca.read_text())  # the bundle renewed at the same path
    with HttpProber(timeout_s=5) as prober:
        assert prober.probe(url).status == 200


def test_gate_waits_for_consecutive_successes(backend: tuple[Backend, ServedApp]) -> None:
    """503, 200, 503, 200, 200 with a streak of 2: passes on the fifth probe."""
    state, served = backend
    state.statuses = [503, 200, 503]
    slept: list[float] = []
    prober = HttpProber()
    progress = wait_healthy(
        prober,
        f"{served.url}/",
        HealthPolicy(consecutive=2, interval_s=0.5, budget_s=60),
        sleep=slept.append,
    )
    prober.close()
    assert progress.state is GateState.PASSED
    assert progress.probes == 5
    assert slept == [0.5] * 4


def test_gate_fails_when_time_runs_out(backend: tuple[Backend, ServedApp]) -> None:
    """A fake clock runs the budget out; the gate reports the last problem."""
    state, served = backend
    state.statuses = [500] * 10
    ticks = iter(range(100))
    prober = HttpProber()
    progress = wait_healthy(
        prober,
        f"{served.url}/",
        HealthPolicy(consecutive=2, interval_s=1, budget_s=3),
        sleep=lambda _: None,
        clock=lambda: float(next(ticks)),
    )
    prober.close()
    assert progress.state is GateState.FAILED
    assert progress.last_problem == "HTTP 500"
