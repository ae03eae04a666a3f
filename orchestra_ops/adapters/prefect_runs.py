"""Flow runs the Prefect server still shows RUNNING although their process is gone.

A run is *stuck* when it is RUNNING, started more than ``silence_s`` ago, and sent no
heartbeat event in the last ``silence_s`` seconds. Read through Prefect's own client;
without a server (PREFECT_API_URL unset) there is nothing to check, and that is said.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.events.filters import (
    EventFilter,
    EventNameFilter,
    EventOccurredFilter,
    EventResourceFilter,
)
from prefect.settings import PREFECT_API_URL
from prefect.states import Crashed

from orchestra_ops.domain.redaction import safe_url


@dataclass(frozen=True)
class StuckRun:
    """A RUNNING flow run with no recent heartbeat."""

    id: str
    name: str
    started: str


def server_configured() -> bool:
    """True when PREFECT_API_URL names a server to ask."""
    return bool(PREFECT_API_URL.value())


def server_said(error: Exception) -> str:
    """Why asking the server failed, naming its URL; no user:password, in either."""
    url = str(PREFECT_API_URL.value() or "")
    said = f"{type(error).__name__}: {error}"
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        said = said.replace(password, "***")
    return f"the Prefect server at {safe_url(url)} (PREFECT_API_URL): {said}"


def stuck_runs(silence_s: float, now: dt.datetime | None = None) -> list[StuckRun]:
    """RUNNING flow runs older than ``silence_s`` without a heartbeat in that window."""
    now = now or dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(seconds=silence_s)
    running = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
    )
    stuck = []
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=running, limit=200):
            if run.start_time is None or run.start_time > since:
                continue
            beats = client.read_events(
                EventFilter(
                    occurred=EventOccurredFilter(since=since, until=now),
                    event=EventNameFilter(name=["prefect.flow-run.heartbeat"]),
                    resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
                ),
                limit=1,
            )
            if not beats.events:
                stuck.append(StuckRun(str(run.id), run.name, run.start_time.isoformat()))
    return stuck


def mark_crashed(run_id: str, why: str) -> None:
    """Set a stuck run CRASHED (as the heartbeat automation would)."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Crashed(message=why), force=True)
