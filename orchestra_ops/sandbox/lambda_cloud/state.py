"""The emulated account: instances, capacity and resources behind one lock.

Every public method takes the lock, so the HTTP handlers (on the server's event loop)
and the Python controls (on the test's thread) can interleave freely. Time comes only
from the injected clock; nothing runs in the background.
"""

from __future__ import annotations

import copy
import itertools
import math
import threading
import uuid
from collections.abc import Callable
from typing import Any

from orchestra_ops.domain.lambda_cloud import REGION_NAMES
from orchestra_ops.sandbox.lambda_cloud import validation
from orchestra_ops.sandbox.lambda_cloud.catalog import (
    DEFAULT_CAPACITY,
    INSTANCE_TYPES,
    images,
    region_json,
)
from orchestra_ops.sandbox.lambda_cloud.envelope import (
    INSUFFICIENT_CAPACITY,
    WRONG_REGION,
    ApiError,
    invalid,
    not_found,
)
from orchestra_ops.sandbox.lambda_cloud.records import InstanceRecord, instance_json
from orchestra_ops.sandbox.lambda_cloud.resources import Resources


class LambdaState:
    """All state of one emulated Lambda Cloud account."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        boot_delay_s: float,
        launch_rate_limit_s: float | None,
        capacity: dict[str, list[str]] | None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.boot_delay_s = boot_delay_s
        self.launch_rate_limit_s = launch_rate_limit_s
        source = DEFAULT_CAPACITY if capacity is None else capacity
        self.capacity: dict[str, list[str]] = {t: [] for t in INSTANCE_TYPES}
        for type_name, regions in source.items():
            self.set_capacity(type_name, regions)
        self.instances: dict[str, InstanceRecord] = {}
        self.resources = Resources()
        self.never_activating: set[str] = set()
        self._serials = itertools.count(1)
        self._last_launch: float | None = None
        self._images = images()

    # --- controls ----------------------------------------------------------------------

    def set_capacity(self, instance_type: str, regions: list[str]) -> None:
        """Make ``instance_type`` available in exactly ``regions``."""
        if instance_type not in INSTANCE_TYPES:
            raise ValueError(f"unknown instance type {instance_type!r}")
        unknown = set(regions) - set(REGION_NAMES)
        if unknown:
            raise ValueError(f"unknown regions {sorted(unknown)}")
        with self.lock:
            self.capacity[instance_type] = list(regions)

    def never_activate(self, target: str) -> None:
        """Keep an instance, or every later instance of a type, in ``booting``."""
        with self.lock:
            if target in self.instances:
                self.instances[target].never_activate = True
            elif target in INSTANCE_TYPES:
                self.never_activating.add(target)
            else:
                raise ValueError(f"{target!r} is neither an instance id nor an instance type")

    def active_ids(self) -> set[str]:
        """Ids of the instances active now."""
        with self.lock:
            now = self.clock()
            return {i for i, r in self.instances.items() if self._status(r, now) == "active"}

    # --- instances ---------------------------------------------------------------------

    def _status(self, record: InstanceRecord, now: float) -> str:
        return record.status(now, self.boot_delay_s)

    def _json(self, record: InstanceRecord, now: float) -> dict[str, Any]:
        return instance_json(record, self._status(record, now))

    def _live(self, instance_id: str, now: float) -> InstanceRecord:
        record = self.instances.get(instance_id)
        if record is None or not record.live(now):
            raise not_found()
        return record

    def list_instances(self) -> list[dict[str, Any]]:
        """Every instance not yet terminated (terminated ones vanish, as upstream)."""
        with self.lock:
            now = self.clock()
            return [self._json(r, now) for r in self.instances.values() if r.live(now)]

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        """One live instance, else 404."""
        with self.lock:
            now = self.clock()
            return self._json(self._live(instance_id, now), now)

    def rename(self, instance_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Set an instance's name."""
        with self.lock:
            now = self.clock()
            record = self._live(instance_id, now)
            record.name = validation.text(body, "name", max_len=64)
            return self._json(record, now)

    def _targets(self, body: dict[str, Any], now: float) -> list[InstanceRecord]:
        ids = body.get("instance_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise invalid("instance_ids must be a non-empty list of instance ids")
        return [self._live(i, now) for i in ids]

    def restart(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Restart: each instance boots again (``booting`` for ``boot_delay_s``)."""
        with self.lock:
            now = self.clock()
            records = self._targets(body, now)
            if any(r.terminate_at is not None for r in records):
                raise invalid("a terminating instance cannot be restarted")
            for record in records:
                record.launched_at = now
            return [self._json(r, now) for r in records]

    def terminate(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Terminate: ``terminating`` now, ``terminated`` once the clock passes the delay."""
        with self.lock:
            now = self.clock()
            records = self._targets(body, now)
            for record in records:
                if record.terminate_at is None:
                    record.terminate_at = now + self.boot_delay_s
            return [self._json(r, now) for r in records]

    def instance_types(self) -> dict[str, Any]:
        """Every type with the regions listing capacity."""
        with self.lock:
            return {
                name: {
                    "instance_type": spec,
                    "regions_with_capacity_available": [
                        region_json(r) for r in self.capacity[name]
                    ],
                }
                for name, spec in INSTANCE_TYPES.items()
            }

    def launch_retry_after(self) -> float | None:
        """Seconds to wait when a launch now would be rate limited, else None (and count it)."""
        with self.lock:
            now = self.clock()
            limit = self.launch_rate_limit_s
            if limit is not None and self._last_launch is not None:
                wait = self._last_launch + limit - now
                if wait > 0:
                    return float(math.ceil(wait))
            self._last_launch = now
            return None

    def launch(self, body: dict[str, Any]) -> list[str]:
        """Launch after shape, existence, region and capacity checks; the instance ids."""
        spec = validation.launch(body)
        with self.lock:
            self._check_launch_resources(spec)
            if spec.region not in self.capacity[spec.instance_type]:
                raise ApiError(
                    400, INSUFFICIENT_CAPACITY, "Not enough capacity to fulfill launch request."
                )
            now = self.clock()
            ids = []
            for _ in range(spec.quantity):
                record = InstanceRecord(
                    id=uuid.uuid4().hex,
                    region=spec.region,
                    instance_type=spec.instance_type,
                    ssh_key_names=[spec.ssh_key],
                    launched_at=now,
                    serial=next(self._serials),
                    name=spec.name,
                    hostname=spec.hostname,
                    file_system_names=list(spec.file_system_names),
                    mounts=copy.deepcopy(spec.mounts),
                    tags=copy.deepcopy(spec.tags),
                    firewall_ruleset_ids=list(spec.firewall_ruleset_ids),
                    never_activate=spec.instance_type in self.never_activating,
                )
                self.instances[record.id] = record
                ids.append(record.id)
            return ids

    def _check_launch_resources(self, spec: validation.LaunchSpec) -> None:
        def missing(what: str) -> ApiError:
            return not_found(f"{what} does not exist.", suggestion=f"Check the {what} and retry.")

        resources = self.resources
        if spec.instance_type not in INSTANCE_TYPES:
            raise missing(f"Instance type {spec.instance_type!r}")
        if not resources.ssh_key_named(spec.ssh_key):
            raise missing(f"SSH key {spec.ssh_key!r}")
        mount_ids = [m["file_system_id"] for m in spec.mounts]
        for fs_name in spec.file_system_names:
            fs = resources.filesystem_by_name(fs_name)
            if fs is None:
                raise missing(f"Filesystem {fs_name!r}")
            if fs["region"]["name"] != spec.region:
                raise ApiError(400, WRONG_REGION, f"Filesystem {fs_name!r} is in another region.")
        for fs_id in mount_ids:
            if fs_id not in resources.filesystems:
                raise missing(f"Filesystem {fs_id!r}")
        for ruleset_id in spec.firewall_ruleset_ids:
            ruleset = resources.ruleset(ruleset_id)
            if ruleset["region"]["name"] != spec.region:
                raise invalid("firewall rulesets must be in the launch region")
        if spec.image is not None and not any(
            spec.image.get("id") == image["id"] or spec.image.get("family") == image["family"]
            for image in self._images
        ):
            raise missing("Image")

    # --- resources ---------------------------------------------------------------------

    def used_filesystem_names(self) -> set[str]:
        """Names of filesystems that live instances mount (call with the lock held)."""
        now = self.clock()
        used: set[str] = set()
        for record in self.instances.values():
            if record.live(now):
                used.update(record.file_system_names)
                used.update(
                    self.resources.filesystems[m["file_system_id"]]["name"]
                    for m in record.mounts
                    if m["file_system_id"] in self.resources.filesystems
                )
        return used

    def used_ruleset_ids(self) -> set[str]:
        """Ids of firewall rulesets that live instances use (call with the lock held)."""
        now = self.clock()
        return {
            rid for r in self.instances.values() if r.live(now) for rid in r.firewall_ruleset_ids
        }

    def images(self) -> list[dict[str, Any]]:
        """The images on offer."""
        return copy.deepcopy(self._images)
