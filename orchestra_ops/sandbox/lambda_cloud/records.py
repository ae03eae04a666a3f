"""Instance records and how they render; status is computed from the clock on every read.

An instance is ``booting`` until ``boot_delay_s`` has passed since launch (or restart),
then ``active``; one marked never-activating stays ``booting``. Terminating sets a
deadline: ``terminating`` until the clock passes it, then ``terminated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestra_ops.sandbox.lambda_cloud.catalog import INSTANCE_TYPES, region_json

SANDBOX_IP = "127.0.0.1"
ACTIONS = ("migrate", "rebuild", "restart", "cold_reboot", "terminate")


@dataclass
class InstanceRecord:
    """One launched instance, as the emulator keeps it."""

    id: str
    region: str
    instance_type: str
    ssh_key_names: list[str]
    launched_at: float
    serial: int
    name: str | None = None
    hostname: str | None = None
    file_system_names: list[str] = field(default_factory=list)
    mounts: list[dict[str, str]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)
    firewall_ruleset_ids: list[str] = field(default_factory=list)
    terminate_at: float | None = None
    never_activate: bool = False

    def status(self, now: float, boot_delay_s: float) -> str:
        """The status at clock time ``now``."""
        if self.terminate_at is not None:
            return "terminated" if now > self.terminate_at else "terminating"
        if self.never_activate or now < self.launched_at + boot_delay_s:
            return "booting"
        return "active"

    def live(self, now: float) -> bool:
        """True until the instance is terminated."""
        return self.terminate_at is None or now <= self.terminate_at


def _actions(status: str) -> dict[str, dict[str, Any]]:
    if status == "active":
        return {name: {"available": True} for name in ACTIONS}
    if status == "booting":
        not_launched = {
            "available": False,
            "reason_code": "vm-has-not-launched",
            "reason_description": "The instance has not finished launching.",
        }
        actions = {name: dict(not_launched) for name in ACTIONS}
        actions["terminate"] = {"available": True}
        return actions
    terminating = {
        "available": False,
        "reason_code": "vm-is-terminating",
        "reason_description": "The instance is terminating.",
    }
    return {name: dict(terminating) for name in ACTIONS}


def instance_json(record: InstanceRecord, status: str) -> dict[str, Any]:
    """An ``Instance`` object; ``ip``/``hostname`` only while active."""
    data: dict[str, Any] = {"id": record.id}
    if record.name is not None:
        data["name"] = record.name
    if status == "active":
        data["ip"] = SANDBOX_IP
        data["private_ip"] = f"10.0.{record.serial // 250}.{record.serial % 250 + 2}"
        data["hostname"] = record.hostname or f"lambda-{record.id[:12]}"
    data.update(
        {
            "status": status,
            "ssh_key_names": list(record.ssh_key_names),
            "file_system_names": list(record.file_system_names),
            "region": region_json(record.region),
            "instance_type": INSTANCE_TYPES[record.instance_type],
            "actions": _actions(status),
        }
    )
    if record.mounts:
        data["file_system_mounts"] = [dict(m) for m in record.mounts]
    if record.tags:
        data["tags"] = [dict(t) for t in record.tags]
    if record.firewall_ruleset_ids:
        data["firewall_rulesets"] = [{"id": r} for r in record.firewall_ruleset_ids]
    return data
