"""Alerts the Prefect way: automations for Failed, Crashed and Late runs of every deployment.

Notices sent from flow code (``tasks/notify.py``) cannot report a run whose process died,
a run no worker picked up, or a run that never started. These automations live on the
Prefect server and watch the flow-run state events of the deployments ``prefect.yaml``
lists, so they fire whatever happened to the process:

- **Failed**: any state of type FAILED. A security scan whose gate found vulnerabilities
  ends in a Failed state named ``PolicyViolation`` (see ``flows/security_scan.py``); the
  alert says "findings, not a breakage" for it and "failed" for everything else.
- **Crashed**: the process died (also what the heartbeat automation marks).
- **Late**: a scheduled run nobody started in time (no worker alive, pool paused), which
  is how a skipped weekly scan shows.
- **No worker**: the work pool of the deployments became not ready (its last worker
  stopped sending heartbeats), before any scheduled run is late.

They send through one Prefect ``CustomWebhookNotificationBlock`` posting Slack-compatible
JSON (``{"text": ...}``) to ORCHESTRA_NOTIFY_WEBHOOK_URL, the webhook of the flows' own
notices. The URL is the credential: the block keeps it in its secret ``secrets`` field
and its ``url`` field only names the placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from uuid import UUID

from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from pydantic import SecretStr

from orchestra_ops.domain.yaml_text import load_yaml
from orchestra_ops.errors import ConfigError

BLOCK_NAME = "orchestra-ops-alerts"
ALERT_PREFIX = "orchestra-ops alert: "
PREFECT_YAML = Path(__file__).resolve().parents[1] / "prefect.yaml"
_URL_KEY = "webhook_url"  # the secret's key in the block; `url` is "{{webhook_url}}"

# Jinja, rendered by the server when the automation fires. The state name and message
# come from the triggering event: by the time the action runs the run may have moved on.
_STATE = "event.resource['prefect.state-name']"
_MESSAGE = "event.resource['prefect.state-message']"
_WHERE = (
    "Deployment: {{ deployment.name }}\n"
    "Flow run: {{ flow_run.name }} ({{ flow_run.id }})\n"
    "State: {{ " + _STATE + " }}{% if " + _MESSAGE + " %}: {{ " + _MESSAGE + " }}{% endif %}"
    # the UI link only where the server knows its UI's address (PREFECT_UI_URL)
    "{% if flow_run|ui_url %}\n{{ flow_run|ui_url }}{% endif %}"
)


@dataclass(frozen=True)
class Alert:
    """One thing to alert on: the event it matches and what it says.

    A ``flow-run`` alert matches the state events of the watched deployments' runs whose
    resource carries ``labels``; a ``work-pool`` alert matches ``event`` of the watched
    work pools.
    """

    key: str  # Failed | Crashed | Late | No worker
    labels: tuple[tuple[str, str], ...]  # flow-run resource labels of the state event
    subject: str
    body: str
    kind: Literal["flow-run", "work-pool"] = "flow-run"
    event: str = "prefect.flow-run.*"

    @property
    def name(self) -> str:
        """The automation's name (how `make deploy` finds it again)."""
        return ALERT_PREFIX + self.key


ALERTS = (
    Alert(
        "Failed",
        (("prefect.state-type", "FAILED"),),
        "orchestra-ops: {{ deployment.name }} {{ " + _STATE + " }}",
        "{% if " + _STATE + " == 'PolicyViolation' %}"
        "Findings, not a breakage: the security scan ran and found vulnerabilities "
        "the policy does not allow. Read the report and fix or ignore them with a reason."
        "{% else %}The run failed: something is broken (the state message says what)."
        "{% endif %}\n" + _WHERE,
    ),
    Alert(
        "Crashed",
        (("prefect.state-type", "CRASHED"),),
        "orchestra-ops: {{ deployment.name }} crashed",
        "The flow-run process died (killed, out of memory, machine gone). Run "
        "`orchestra-ops recover` to settle what it left open.\n" + _WHERE,
    ),
    Alert(
        "Late",
        (("prefect.state-type", "SCHEDULED"), ("prefect.state-name", "Late")),
        "orchestra-ops: {{ deployment.name }} is late",
        "A scheduled run has not started: is a worker polling the work pool "
        "(`prefect worker start --pool orchestra-ops-process`)?\n" + _WHERE,
    ),
    Alert(
        "No worker",
        (),
        "orchestra-ops: no worker polls {{ work_pool.name }}",
        "The work pool {{ work_pool.name }} has no live worker (the last one stopped sending "
        "heartbeats): scheduled runs such as the weekly scan will not start. Start one: "
        "`prefect worker start --pool {{ work_pool.name }}`.",
        kind="work-pool",
        event="prefect.work-pool.not-ready",
    ),
)


@dataclass(frozen=True)
class Watched:
    """What ``prefect.yaml`` deploys: the deployments and the work pools they run on."""

    deployments: list[str]
    pools: list[str]


def watched(prefect_yaml: Path = PREFECT_YAML) -> Watched:
    """The deployments and work pools ``prefect_yaml`` lists, sorted (ConfigError when it
    lists no deployment)."""
    try:
        text = prefect_yaml.read_text()
    except OSError as error:
        raise ConfigError(f"{prefect_yaml}: cannot read it ({error.strerror})") from error
    data = load_yaml(text, str(prefect_yaml), typ="safe")
    entries = data.get("deployments") if isinstance(data, dict) else None
    found = [d for d in entries or [] if isinstance(d, dict) and d.get("name")]
    if not found:
        raise ConfigError(f"{prefect_yaml}: no deployment with a name under `deployments:`")
    pools = [d.get("work_pool") for d in found]
    return Watched(
        sorted({str(d["name"]) for d in found}),
        sorted({str(p["name"]) for p in pools if isinstance(p, dict) and p.get("name")}),
    )


def _trigger(alert: Alert, watching: Watched) -> EventTrigger:
    if alert.kind == "work-pool":
        match = {"prefect.resource.id": "prefect.work-pool.*"}
        return EventTrigger(
            match={**match, "prefect.resource.name": watching.pools},
            expect={alert.event},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=0,
        )
    return EventTrigger(
        match={"prefect.resource.id": "prefect.flow-run.*", **dict(alert.labels)},
        match_related={
            "prefect.resource.role": "deployment",
            "prefect.resource.name": watching.deployments,
        },
        expect={alert.event},
        for_each={"prefect.resource.id"},
        posture=Posture.Reactive,
        threshold=1,
        within=0,
    )


def alert_automation(alert: Alert, watching: Watched, block_id: UUID) -> Automation:
    """The automation that sends ``alert`` for what ``watching`` names."""
    what = (
        f"work pools: {', '.join(watching.pools)}"
        if alert.kind == "work-pool"
        else f"runs of the deployments: {', '.join(watching.deployments)}"
    )
    return Automation(
        name=alert.name,
        description=f"Sends a webhook notice on {alert.key} ({what}).",
        enabled=True,
        trigger=_trigger(alert, watching),
        actions=[
            SendNotification(block_document_id=block_id, subject=alert.subject, body=alert.body)
        ],
    )


def webhook_block(url: SecretStr, timeout_s: float) -> CustomWebhookNotificationBlock:
    """The notification block: Slack-compatible JSON to ``url``, kept as a secret."""
    return CustomWebhookNotificationBlock(
        name=BLOCK_NAME,
        url="{{" + _URL_KEY + "}}",
        method="POST",
        json_data={"text": "{{subject}}\n{{body}}"},
        timeout=timeout_s,
        secrets={_URL_KEY: url.get_secret_value()},
    )


def _same_block(a: CustomWebhookNotificationBlock, b: CustomWebhookNotificationBlock) -> bool:
    fields = ("name", "url", "method", "json_data", "timeout")
    same = all(getattr(a, f) == getattr(b, f) for f in fields)
    return same and a.secrets.get_secret_value() == b.secrets.get_secret_value()


def ensure_block(wanted: CustomWebhookNotificationBlock) -> tuple[UUID, str]:
    """Save ``wanted`` as BLOCK_NAME unless an equal block is there; its id and what happened.

    What happened never quotes the URL.
    """
    label = f"notification block {BLOCK_NAME!r} (webhook URL kept as a secret)"
    try:
        # Called outside an event loop, Prefect's load and save run synchronously.
        current = cast(
            CustomWebhookNotificationBlock, CustomWebhookNotificationBlock.load(BLOCK_NAME)
        )
    except ValueError:  # no such block yet
        return cast(UUID, wanted.save(BLOCK_NAME)), f"created {label}"
    if _same_block(current, wanted) and current._block_document_id is not None:
        return current._block_document_id, f"unchanged {label}"
    return cast(UUID, wanted.save(BLOCK_NAME, overwrite=True)), f"updated {label}"
