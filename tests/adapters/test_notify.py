"""Webhook notices against a real receiver on loopback: delivery, retries, failures, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from prefect import flow
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from orchestra_ops.adapters.notify import WebhookNotifier
from orchestra_ops.domain.notifications import (
    phase_failed,
    provisioning_refused,
    render_slack,
)
from orchestra_ops.errors import ConfigError
from orchestra_ops.sandbox.faults import FaultMiddleware, FaultPlan, RequestLog
from orchestra_ops.sandbox.server import ServedApp, serve_in_thread
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import build
from tasks.notify import send_notice

CANARY = "canary-5b2d-DO-NOT-LEAK"
HOOK_PATH = f"/services/T0001/B0001/{CANARY}"
DOWN_URL = f"http://127.0.0.1:1{HOOK_PATH}"  # nothing listens on port 1


@dataclass
class Receiver:
    """A Slack-like incoming webhook that records every body it accepted."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    log: RequestLog = field(default_factory=RequestLog)
    bodies: list[Any] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)

    def app(self) -> Any:
        async def hook(request: Request) -> PlainTextResponse:
            self.bodies.append(await request.json())
            self.content_types.append(request.headers.get("content-type", ""))
            return PlainTextResponse("ok")

        inner = Starlette(routes=[Route("/services/{path:path}", hook, methods=["POST"])])
        return FaultMiddleware(
            inner, plan=self.plan, log=self.log, error_body=lambda status: {"error": status}
        )


@pytest.fixture(scope="module")
def served_receiver() -> Iterator[tuple[Receiver, ServedApp]]:
    receiver = Receiver()
    with serve_in_thread(receiver.app(), name="webhook") as served:
        yield receiver, served


@pytest.fixture
def receiver(served_receiver: tuple[Receiver, ServedApp]) -> Receiver:
    receiver, _ = served_receiver
    receiver.plan.clear()
    receiver.log.clear()
    receiver.bodies.clear()
    receiver.content_types.clear()
    return receiver


@pytest.fixture
def hook_url(served_receiver: tuple[Receiver, ServedApp]) -> str:
    return served_receiver[1].url + HOOK_PATH


def _notifier(url: str, timeout_s: float = 2.0) -> WebhookNotifier:
    return WebhookNotifier(SecretStr(url), timeout_s, retry_delay_s=0.01)


NOTICE = provisioning_refused("prod", "gpu_8x_h100 is not allowed in prod")


def test_delivers_the_slack_payload(receiver: Receiver, hook_url: str) -> None:
    """One POST of JSON, exactly the rendered notice."""
    with _notifier(hook_url) as notifier:
        delivery = notifier.send(NOTICE)
    assert (delivery.delivered, delivery.reason, delivery.attempts) == (True, "HTTP 200", 1)
    assert receiver.bodies == [render_slack(NOTICE)]
    assert receiver.content_types == ["application/json"]
    body = receiver.bodies[0]
    assert {b["type"] for b in body["blocks"]} == {"section", "context"}
    assert body["text"].startswith("Provisioning request for prod refused")


def test_a_500_then_success_is_retried_once_honouring_retry_after(
    receiver: Receiver, hook_url: str
) -> None:
    """The first answer is a 500 asking to wait 0 s; the second attempt delivers."""
    fault = receiver.plan.inject("/services/.*", status=500, headers={"Retry-After": "0"})
    with _notifier(hook_url) as notifier:
        delivery = notifier.send(NOTICE)
    assert delivery.delivered and delivery.attempts == 2
    assert delivery.reason == "HTTP 200 (after HTTP 500)"
    assert [(e.status, e.fault_id) for e in receiver.log.entries()] == [(500, fault), (200, None)]
    assert len(receiver.bodies) == 1


def test_a_persistent_5xx_gives_up_after_the_one_retry(receiver: Receiver, hook_url: str) -> None:
    """Bounded: two attempts, then a result saying why; nothing raised."""
    receiver.plan.inject("/services/.*", status=503, count=None)
    with _notifier(hook_url) as notifier:
        delivery = notifier.send(NOTICE)
    assert not delivery.delivered and delivery.attempts == 2
    assert delivery.reason == "HTTP 503 (after HTTP 503)"
    assert len(receiver.log.entries()) == 2


def test_a_retry_after_beyond_the_bound_is_not_waited_for(
    receiver: Receiver, hook_url: str
) -> None:
    """A 429 asking for two minutes ends at once: a notice is not worth a stalled flow."""
    receiver.plan.inject("/services/.*", status=429, headers={"Retry-After": "120"})
    with _notifier(hook_url) as notifier:
        delivery = notifier.send(NOTICE)
    assert not delivery.delivered and delivery.attempts == 1
    assert "asked to retry after 120 s" in delivery.reason
    assert len(receiver.log.entries()) == 1


def test_a_refusal_is_not_retried(receiver: Receiver, hook_url: str) -> None:
    """A 404 (a revoked webhook) will not get better by asking again."""
    receiver.plan.inject("/services/.*", status=404)
    with _notifier(hook_url) as notifier:
        delivery = notifier.send(NOTICE)
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert delivery.reason == "HTTP 404: the webhook refused the message"


def test_receiver_down_and_hanging_are_results_not_exceptions(
    receiver: Receiver, hook_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused connection: retried once. No answer in time: not retried (it may have arrived)."""
    caplog.set_level(logging.DEBUG)
    with _notifier(DOWN_URL) as notifier:
        down = notifier.send(NOTICE)
    assert (down.delivered, down.attempts) == (False, 2)
    assert down.reason.startswith("no connection (ConnectError)")
    receiver.plan.inject("/services/.*", mode="hang", delay_s=1.0)
    with _notifier(hook_url, timeout_s=0.2) as notifier:
        hung = notifier.send(NOTICE)
    assert (hung.delivered, hung.attempts) == (False, 1)
    assert hung.reason == "no answer in time (ReadTimeout)"
    assert CANARY not in down.reason + hung.reason
    assert CANARY not in caplog.text


def test_the_url_never_shows_in_repr_or_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in the notifier's repr, the settings' repr, or a validation error."""
    notifier = _notifier(DOWN_URL)
    assert CANARY not in repr(notifier) and CANARY not in str(notifier)
    notifier.close()
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", DOWN_URL)
    settings = load_settings(env_file=None)
    assert CANARY not in repr(settings) and CANARY not in repr(build(settings).notifier())
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", f"ftp://hooks.example/{CANARY}")
    with pytest.raises(ConfigError, match="ORCHESTRA_NOTIFY_WEBHOOK_URL must be an http") as bad:
        load_settings(env_file=None)
    assert CANARY not in str(bad.value) and CANARY not in repr(bad.value)


def test_no_webhook_configured_means_no_notifier() -> None:
    """The setting is optional: unset, the factory gives None and send_notice does nothing."""
    assert build(load_settings(env_file=None)).notifier() is None
    delivery = send_notice(NOTICE)
    assert (delivery.delivered, delivery.attempts) == (False, 0)


# --- from flows: a failing webhook never fails the run ------------------------------------


@flow(name="notify-probe")
def _reporting_flow(phase: str) -> str:
    delivery = send_notice(phase_failed(phase, "boom"))
    return f"done ({delivery.delivered})"


@pytest.mark.usefixtures("prefect_harness")
def test_a_flow_delivers_through_settings(
    receiver: Receiver, hook_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """send_notice reads ORCHESTRA_NOTIFY_WEBHOOK_URL and delivers."""
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", hook_url)
    assert _reporting_flow("1A admin") == "done (True)"
    assert [b["text"] for b in receiver.bodies] == ["Roadmap phase 1A admin failed: boom"]


@pytest.mark.usefixtures("prefect_harness")
def test_a_flow_completes_with_the_receiver_down_or_hanging(
    receiver: Receiver,
    hook_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flow ends Completed; a warning says why; the URL is nowhere in the logs."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", DOWN_URL)
    assert _reporting_flow("2A") == "done (False)"
    monkeypatch.setenv("ORCHESTRA_NOTIFY_WEBHOOK_URL", hook_url)
    monkeypatch.setenv("ORCHESTRA_NOTIFY_TIMEOUT_S", "0.2")
    receiver.plan.inject("/services/.*", mode="hang", delay_s=1.0)
    assert _reporting_flow("2B") == "done (False)"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not delivered: no connection" in w for w in warnings)
    assert any("not delivered: no answer in time" in w for w in warnings)
    assert CANARY not in caplog.text
