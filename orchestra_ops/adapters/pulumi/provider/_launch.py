"""Launch one instance for a Pulumi resource: adopt first, then capacity-aware attempts.

The order of business, each step a guard against a duplicate or a leak:

1. adopt a live instance already tagged with this resource's key (a launch that took
   effect but answered 5xx, or a create the engine lost track of);
2. try (type, region) attempts from :func:`~orchestra_ops.domain.placement.plan_attempts`;
   a refusal for capacity moves on, an answer that may hide a success re-lists first;
3. wait for ``active``; an instance that never gets there is terminated before failing.
"""

from __future__ import annotations

from orchestra_ops.adapters.pulumi.provider._common import OWNER_TAG, RESOURCE_TAG, Timing
from orchestra_ops.adapters.pulumi.provider._spec import InstanceSpec
from orchestra_ops.domain.lambda_cloud import (
    GONE,
    Instance,
    InstanceId,
    InstanceStatus,
    LaunchRequest,
    Tag,
)
from orchestra_ops.domain.pending_ops import live_with_key
from orchestra_ops.domain.placement import Attempt, plan_attempts
from orchestra_ops.errors import (
    InstanceNotActive,
    InsufficientCapacity,
    LambdaInvalidRequest,
    LambdaNotFound,
    LambdaRateLimited,
    LambdaUnavailable,
)
from orchestra_ops.ports.lambda_cloud import LambdaCloudApi

_TRIES_PER_ATTEMPT = 3
_DEFAULT_RATE_WAIT_S = 12.0  # the documented launch limit: one per 12 s


def find_adoptable(api: LambdaCloudApi, spec: InstanceSpec) -> list[Instance]:
    """Live instances carrying this resource's key and matching what it asks for."""
    found = []
    for instance in api.list_instances():
        if not live_with_key(instance, spec.key):
            continue
        # A tagged instance of another shape is not ours to adopt (e.g. mid-replacement).
        if spec.ssh_key_name not in instance.ssh_key_names:
            continue
        if instance.instance_type.name not in spec.instance_types:
            continue
        found.append(instance)
    return found


_NO_ANSWER = f"no answer after {_TRIES_PER_ATTEMPT} tries"


def launch_or_adopt(api: LambdaCloudApi, spec: InstanceSpec, timing: Timing) -> Instance:
    """An active instance for ``spec``: adopted when one exists, launched otherwise."""
    adopted = _adopt(api, spec)
    if adopted is not None:
        return wait_active(api, adopted, spec, timing)
    regions = _usable_regions(api, spec)
    plan = plan_attempts(api.instance_types(), spec.instance_types, regions)
    tried: list[str] = []
    for attempt in plan.attempts:
        instance_id = _try(api, spec, attempt, timing, tried)
        if instance_id is not None:
            return wait_active(api, instance_id, spec, timing)
    what = "; ".join([*tried, *plan.skipped]) or "nothing to try"
    if tried and all(t.endswith(_NO_ANSWER) for t in tried):
        # Nobody said "no capacity": the API did not answer (timeouts, 5xx) every time.
        raise LambdaUnavailable(
            f"could not launch {spec.name!r}: the Lambda API did not answer any launch "
            f"({what}); nothing was refused for capacity; retry later"
        )
    raise InsufficientCapacity(
        f"could not launch {spec.name!r}: every option is exhausted ({what}); add fallback "
        "types or regions, or retry later",
        region=",".join(regions) or "any",
        instance_type=",".join(spec.instance_types),
    )


def _adopt(api: LambdaCloudApi, spec: InstanceSpec) -> InstanceId | None:
    found = find_adoptable(api, spec)
    if not found:
        return None
    keep, *extra = found
    if extra:
        # Only our own duplicate launches carry this key: keep one, stop paying for the rest.
        api.terminate([i.id for i in extra])
    return keep.id


def _usable_regions(api: LambdaCloudApi, spec: InstanceSpec) -> tuple[str, ...]:
    """The preferred regions, narrowed to where the attached filesystems and rulesets are."""
    pinned: set[str] = set()
    if spec.file_system_names:
        by_name = {fs.name: fs.region.name for fs in api.list_filesystems()}
        pinned.update(by_name[n] for n in spec.file_system_names if n in by_name)
    for ruleset_id in spec.firewall_ruleset_ids:
        ruleset = api.get_firewall_ruleset(ruleset_id)
        if ruleset.region is not None:
            pinned.add(ruleset.region.name)
    if not pinned:
        return spec.regions
    usable = tuple(r for r in spec.regions if r in pinned) if spec.regions else tuple(pinned)
    if len(pinned) > 1 or not usable:
        raise LambdaInvalidRequest(
            f"{spec.name!r}: its filesystems and firewall rulesets are in {sorted(pinned)}, "
            f"which do not fit the preferred regions {list(spec.regions)}; an instance can "
            "only attach them in their own region"
        )
    return usable


def _try(
    api: LambdaCloudApi, spec: InstanceSpec, attempt: Attempt, timing: Timing, tried: list[str]
) -> InstanceId | None:
    """One attempt, retried a bounded number of times for throttling or lost answers."""
    label = f"{attempt.instance_type} in {attempt.region}"
    for _ in range(_TRIES_PER_ATTEMPT):
        try:
            return api.launch(launch_request(spec, attempt))[0]
        except InsufficientCapacity:
            tried.append(f"{label}: no capacity")
            return None
        except LambdaRateLimited as error:
            timing.sleep(error.retry_after or _DEFAULT_RATE_WAIT_S)
        except LambdaUnavailable:
            # The launch may have happened anyway: look before launching again.
            adopted = _adopt(api, spec)
            if adopted is not None:
                return adopted
    tried.append(f"{label}: {_NO_ANSWER}")
    return None


def launch_request(spec: InstanceSpec, attempt: Attempt) -> LaunchRequest:
    """The launch request of ``spec`` for one attempt, tagged with the resource key."""
    image_id, family = spec.image_id_or_family()
    return LaunchRequest(
        region_name=attempt.region,
        instance_type_name=attempt.instance_type,
        ssh_key_names=(spec.ssh_key_name,),
        name=spec.name,
        hostname=spec.hostname,
        file_system_names=spec.file_system_names,
        image_id=image_id,
        image_family=family,
        tags=(
            *spec.tags,
            Tag(RESOURCE_TAG, spec.key),
            *((Tag(OWNER_TAG, spec.owner),) if spec.owner else ()),
        ),
        firewall_ruleset_ids=spec.firewall_ruleset_ids,
    )


def wait_active(
    api: LambdaCloudApi, instance_id: InstanceId, spec: InstanceSpec, timing: Timing
) -> Instance:
    """Poll until ``active``; otherwise terminate it and raise InstanceNotActive."""
    started = timing.clock()
    status = "unknown"
    while True:
        try:
            instance = api.get_instance(instance_id)
        except (LambdaNotFound, LambdaUnavailable, LambdaRateLimited):
            instance = None  # just launched or a blip: look again until the deadline
        if instance is not None:
            status = instance.status.value
            if instance.status is InstanceStatus.ACTIVE:
                return instance
            if instance.status in GONE:
                break
        if timing.clock() - started >= spec.active_timeout_s:
            break
        timing.sleep(spec.poll_s)
    terminate_and_wait(api, instance_id, spec.active_timeout_s, spec.poll_s, timing)
    raise InstanceNotActive(instance_id, status, timing.clock() - started)


def terminate_and_wait(
    api: LambdaCloudApi, instance_id: InstanceId, timeout_s: float, poll_s: float, timing: Timing
) -> None:
    """Terminate and wait until it is terminated or gone; LambdaUnavailable past the bound."""
    try:
        api.terminate([instance_id])
    except LambdaNotFound:
        return
    started = timing.clock()
    while timing.clock() - started < timeout_s:
        try:
            if api.get_instance(instance_id).status is InstanceStatus.TERMINATED:
                return
        except LambdaNotFound:
            return
        timing.sleep(poll_s)
    raise LambdaUnavailable(
        f"instance {instance_id} was asked to terminate but is not gone after {timeout_s:.0f} s; "
        "check it in the Lambda console and run `pulumi refresh`"
    )
