"""The alert definitions, without a server: which deployments they watch, what they say."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from prefect.server.events.schemas.automations import EventTrigger as ServerTrigger
from pydantic import SecretStr

from deployments.alerts import ALERTS, alert_automation, watched, webhook_block
from deployments.automations import zombie_automation
from orchestra_ops.errors import ConfigError


def test_every_deployment_of_prefect_yaml_is_watched() -> None:
    """The project's own prefect.yaml: all six deployments, the weekly scan among them,
    and their one work pool."""
    watching = watched()
    names = watching.deployments
    assert names == sorted(names) and len(names) == 6
    assert "weekly-security-scan" in names and "lambda-provisioning" in names
    assert watching.pools == ["orchestra-ops-process"]
    by_kind = {a.kind: alert_automation(a, watching, uuid4()).trigger for a in ALERTS}
    assert "weekly-security-scan" in str(by_kind["flow-run"])
    assert "orchestra-ops-process" in str(by_kind["work-pool"])
    assert "weekly-security-scan" not in str(by_kind["work-pool"])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("deployments: []\n", "no deployment with a name"),
        ("name: x\n", "no deployment with a name"),
        ("deployments: [\n", r"prefect\.yaml"),
    ],
)
def test_a_prefect_yaml_without_deployments_is_refused(
    tmp_path: Path, text: str, says: str
) -> None:
    """An empty or broken list would create alerts that watch nothing: refused, named."""
    path = tmp_path / "prefect.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says):
        watched(path)


def test_a_missing_prefect_yaml_is_named() -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: cannot read it"):
        watched(Path("/nowhere.yaml"))


def test_the_block_keeps_the_url_secret() -> None:
    """Only the placeholder is a plain field; the URL hides behind the secret dict."""
    url = "https://hooks.example.invalid/services/T/B/s3cr3t-canary"
    block = webhook_block(SecretStr(url), 5.0)
    assert block.url == "{{webhook_url}}"
    assert "s3cr3t-canary" not in repr(block) + block.model_dump_json()
    assert block.secrets.get_secret_value() == {"webhook_url": url}


@pytest.mark.parametrize(
    "state", ["Completed", "Failed", "Crashed", "PolicyViolation", "RolledBack", "RollbackFailed"]
)
def test_the_crashed_when_silent_automation_hears_every_end_of_a_run(state: str) -> None:
    """Judged by Prefect's own server-side matcher: a run that ended in any named state (a
    gate's PolicyViolation too) is alive to the automation, never marked Crashed after."""
    trigger = ServerTrigger.model_validate(zombie_automation(60).trigger.model_dump())
    assert trigger.expects(f"prefect.flow-run.{state}")
    assert trigger.expects("prefect.flow-run.heartbeat")
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    # A heartbeat names its deployment by id only: a match on deployment names would never
    # see one, and the automation would never fire (the e2e kill test showed it).
    assert not trigger.match_related
