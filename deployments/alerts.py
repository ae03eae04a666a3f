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

They send through one Prefect ``CustomWebhookNotificationBlock`` posting Slack-compatible
JSON (``{"text": ...}``) to ORCHESTRA_NOTIFY_WEBHOOK_URL, the webhook of the flows' own
notices. The URL is the credential: the block keeps it in its secret ``secrets`` field
and its ``url`` field only names the placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast
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
    """One kind of run to alert on: the state event labels it matches and what it says."""

    key: str  # Failed | Crashed | Late
    labels: tuple[tuple[str, str], ...]  # flow-run resource labels of the state event
    subject: str
    body: str

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
)


def deployment_names(prefect_yaml: Path = PREFECT_YAML) -> list[str]:
    """Every deployment name ``prefect_yaml`` lists, sorted (ConfigError when it lists none)."""
    try:
        text = prefect_yaml.read_text()
    except OSError as error:
        raise ConfigError(f"{prefect_yaml}: cannot read it ({error.strerror})") from error
    data = load_yaml(text, str(prefect_yaml), typ="safe")
    entries = data.get("deployments") if isinstance(data, dict) else None
    names = sorted({str(d["name"]) for d in entries or [] if isinstance(d, dict) and d.get("name")})
    if not names:
        raise ConfigError(f"{prefect_yaml}: no deployment with a name under `deployments:`")
    return names


def alert_automation(alert: Alert, deployments: Sequence[str], block_id: UUID) -> Automation:
    """The automation that sends ``alert`` for every run of ``deployments``."""
    return Automation(
        name=alert.name,
        description=(
            f"Sends a webhook notice when a run of an orchestra-ops deployment is {alert.key} "
            f"(deployments: {', '.join(deployments)})."
        ),
        enabled=True,
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*", **dict(alert.labels)},
            match_related={
                "prefect.resource.role": "deployment",
                "prefect.resource.name": list(deployments),
            },
            expect={"prefect.flow-run.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=0,
        ),
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
