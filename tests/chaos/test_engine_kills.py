"""SIGKILL of a worker running a real `pulumi up` at points of the update, then recovery.

Each point starts from a fresh Lambda emulator (instances boot and terminate in
``BOOT_S``) and state directory, with the shared and backend projects copied and the
stacks brought to the point's starting state in this process. A worker process then
runs the point's ``up`` through :class:`PulumiEngine` and is killed with SIGKILL together
with its process group (the Python worker, the Pulumi CLI, the dynamic-provider plugin)
at the point's moment. Some moments are held open by the emulator: a request is
answered only once the test lets go (before it takes effect, or after), so "the object
exists in Lambda but the engine has not recorded it" is a state, not a race.

Recovery alternates: the **next run** (the stack's next ``up`` through the engine, what
the provisioning flow's next run calls), or **recover** (``orchestra-ops recover`` in its
own process). Then the emulator's own state is judged, never the product's words:

- **orphans**: live Lambda objects (instances not terminating, SSH keys, filesystems,
  firewall rulesets) whose id no stack's state holds;
- **doubles**: two live instances carrying one resource key, or two live resources of
  one URN in a state;
- **recovered**: no pending operation and no lock left in any stack, recovery exited 0;
  right after ``recover`` a preview plans no update, replacement or delete (what it
  adopted is what the program asks for; it may plan creates of what never reached
  Lambda or was dropped), and after the next ``up`` a preview plans nothing.

A kill can also land inside the file backend's write of a checkpoint and leave its
metadata sidecar empty (met in a soak run); the last test reproduces that state and
shows the engine reading the stack again.

``make test`` runs ``CI_POINTS`` (no ``up`` after ``recover``, no preview after the next
run); ``ORCHESTRA_SOAK=1`` (``make chaos``) runs every point, each followed by its
recovery, an ``up`` and a preview.
The table (point, recovered, orphans, doubles, how) is written to the pytest temp dir as
``engine-kills.json`` and printed at the end of the module.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestra_ops.adapters.pulumi.engine import PulumiEngine
from orchestra_ops.ports.stack_engine import StackEvent, StackRef
from orchestra_ops.sandbox.lambda_cloud import LambdaCloudEmulator
from orchestra_ops.sandbox.server import serve_in_thread
from orchestra_ops.settings import PulumiSettings
from tests.chaos import SOAK
from tests.killing import kill_when
from tests.pulumi_cli import CLI, needs_pulumi_cli

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infrastructure" / "pulumi"
API_KEY = "engine-kills-lambda-key"
PASSPHRASE = "engine-kills-passphrase"
BOOT_S = 2.0  # booting and terminating last this long
CI_POINTS = ("instance booting", "filesystem made, answer held")

pytestmark = [
    pytest.mark.pulumi_cli,
    pytest.mark.slow,
    needs_pulumi_cli,
]


# --- the emulator, with requests held open on demand ----------------------------------


@dataclass
class Hold:
    """Keep matching requests waiting: ``before`` they take effect, or ``after`` (the
    answer is held); ``body`` must then occur in the answer. ``count`` requests at most."""

    method: str
    path: str
    when: str = "after"
    body: str = ""
    count: int = 1
    holding: int = 0


class Holding:
    """ASGI middleware in front of the emulator: holds requests until ``release()``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.rules: list[Hold] = []
        self._released = threading.Event()
        self._lock = threading.Lock()

    def hold(self, rule: Hold) -> Hold:
        with self._lock:
            self._released.clear()
            self.rules.append(rule)
        return rule

    def release(self) -> None:
        with self._lock:
            self.rules.clear()
            self._released.set()

    def holding(self) -> bool:
        return any(rule.holding for rule in self.rules)

    def _rule(self, scope: Scope) -> Hold | None:
        with self._lock:
            for rule in self.rules:
                if rule.count > 0 and scope["method"] == rule.method:
                    if re.fullmatch(rule.path, scope["path"]):
                        return rule
        return None

    async def _wait(self, rule: Hold) -> None:
        rule.holding += 1
        while not self._released.is_set():
            await asyncio.sleep(0.02)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule(scope) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.when == "before":
            rule.count -= 1
            await self._wait(rule)
            await self.app(scope, receive, send)
            return
        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)
        body = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
        if rule.body in body.decode(errors="replace").replace(" ", "") and rule.count > 0:
            rule.count -= 1
            await self._wait(rule)
        for message in answer:
            await send(message)


@dataclass
class Cloud:
    """One emulated Lambda account, served on loopback behind :class:`Holding`."""

    emulator: LambdaCloudEmulator
    holding: Holding
    url: str

    def instances(self) -> list[dict[str, Any]]:
        return self.emulator.state.list_instances()

    def live(self) -> dict[str, dict[str, Any]]:
        """Every live object by id: instances not going, keys, filesystems, rulesets."""
        found = {i["id"]: i for i in self.instances() if i["status"] != "terminating"}
        res = self.emulator.state.resources
        for objects in (res.ssh_keys, res.filesystems, res.rulesets):
            found.update(objects)
        return found

    def launches(self) -> int:
        return sum(1 for e in self.emulator.log.entries() if e.path.endswith("/launch"))


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name in ("PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    emulator = LambdaCloudEmulator(api_key=API_KEY, boot_delay_s=BOOT_S)
    holding = Holding(emulator.app())
    with serve_in_thread(holding) as served:
        monkeypatch.setenv("LAMBDA_LABS_API_KEY", API_KEY)
        monkeypatch.setenv("LAMBDA_LABS_API_URL", served.url)
        yield Cloud(emulator, holding, served.url)
        holding.release()
    emulator.close()


# --- stacks, the worker and the kill ---------------------------------------------------


@dataclass
class Site:
    """A point's state directory and project copies, and an engine over them."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def backend_dir(self) -> Path:
        return self.state / "pulumi" / "state" / ".pulumi"

    def engine(self) -> PulumiEngine:
        settings = PulumiSettings(_env_file=None, config_passphrase=SecretStr(PASSPHRASE))
        return PulumiEngine(settings, self.state, cli=CLI)

    def stack(self, engine: PulumiEngine, project: str) -> StackRef:
        return engine.select_or_create(self.root / project, "dev")

    def checkpoints(self) -> dict[str, dict[str, Any]]:
        """Each stack's latest state, read from the file backend itself."""
        found = {}
        for path in sorted((self.backend_dir / "stacks").glob("*/*.json")):
            latest = json.loads(path.read_text())["checkpoint"].get("latest") or {}
            found[f"{path.parent.name}/{path.stem}"] = latest
        return found

    def locks(self) -> list[Path]:
        return sorted((self.backend_dir / "locks").rglob("*.json"))


@pytest.fixture
def site(tmp_path: Path) -> Site:
    for name in ("shared", "backend"):
        shutil.copytree(INFRA / name, tmp_path / name)
    here = Site(tmp_path)
    engine = here.engine()
    backend = here.stack(engine, "backend")
    engine.set_config(
        backend, {"orchestra-backend:poll_s": "0.2", "orchestra-backend:active_timeout_s": "60"}
    )
    return here


WORKER = """
import sys
from pathlib import Path
from orchestra_ops.adapters.pulumi.engine import PulumiEngine
from orchestra_ops.settings import PulumiSettings
engine = PulumiEngine(PulumiSettings(_env_file=None), Path(sys.argv[1]))
engine.up(engine.select_or_create(Path(sys.argv[2]), "dev"))
"""


def worker_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE}


def up_in_worker(site: Site, project: str) -> subprocess.Popen[bytes]:
    """`up` of the project's dev stack in a worker process leading its own process group."""
    args = [sys.executable, "-c", WORKER, str(site.state), str(site.root / project)]
    return subprocess.Popen(
        args, env=worker_env(), start_new_session=True, stdout=subprocess.DEVNULL
    )


def recover_cli(site: Site) -> subprocess.CompletedProcess[str]:
    """`orchestra-ops recover` for dev, in its own process (no Prefect server asked)."""
    env = {**worker_env(), "ORCHESTRA_STATE_DIR": str(site.state)}
    args = [sys.executable, "-m", "orchestra_cli", "recover", "--environment", "dev"]
    args += ["--infrastructure-dir", str(site.root), "--no-runs", "--json"]
    return subprocess.run(args, env=env, cwd=site.root, capture_output=True, text=True, timeout=240)


# --- judging ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """One row of the table."""

    point: str
    how: str
    recovered: bool = False
    orphans: int = -1
    doubles: int = -1
    left_at_kill: str = ""
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def note(self, event: StackEvent) -> None:
        """Keep what the engine said it settled (and the locks it removed)."""
        if event.kind == "diagnostic" and event.severity == "warning":
            if event.message.startswith(("shared/", "backend/", "removed")):
                self.details.append(event.message)

    def lap(self, phase: str, since: float) -> float:
        """Record how long ``phase`` took; the time now."""
        now = time.monotonic()
        self.phases[phase] = round(now - since, 1)
        return now


def judge(site: Site, cloud: Cloud, outcome: Outcome) -> None:
    """Orphans and doubles from the emulator's state against every stack's state."""
    states = site.checkpoints()
    owned: set[str] = set()
    for name, latest in states.items():
        live_urns = [r["urn"] for r in latest.get("resources") or () if not r.get("delete")]
        owned |= {str(r["id"]) for r in latest.get("resources") or () if r.get("id")}
        doubled = {u for u in live_urns if live_urns.count(u) > 1}
        outcome.details += [f"{name}: two live resources of {u}" for u in sorted(doubled)]
        pending = latest.get("pending_operations") or []
        outcome.details += [
            f"{name}: still pending {op['type']} {op['resource']['urn']}" for op in pending
        ]
    orphans = sorted(set(cloud.live()) - owned)
    keys = [
        t["value"]
        for i in cloud.instances()
        if i["status"] != "terminating"
        for t in i.get("tags") or ()
        if t["key"] == "orchestra-resource"
    ]
    doubled_keys = sorted({k for k in keys if keys.count(k) > 1})
    outcome.orphans = len(orphans)
    outcome.doubles = len(doubled_keys) + sum("two live resources" in d for d in outcome.details)
    outcome.details += [f"orphan {o}" for o in orphans] + [f"double {k}" for k in doubled_keys]
    outcome.details += [f"lock left: {lock}" for lock in site.locks()]


def left_at_kill(site: Site, cloud: Cloud) -> str:
    """What the kill left: pending operations, locks, launches seen by Lambda."""
    pending = [
        f"{op['type']} {op['resource']['urn'].rsplit('::', 1)[-1]}"
        for latest in site.checkpoints().values()
        for op in latest.get("pending_operations") or ()
    ]
    locks, launches = len(site.locks()), cloud.launches()
    return f"pending [{', '.join(pending)}]; {locks} lock(s); {launches} launch(es)"


RESULTS: list[Outcome] = []


@pytest.fixture(scope="module", autouse=True)
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    if not RESULTS:
        return
    path = tmp_path_factory.getbasetemp() / "engine-kills.json"
    path.write_text(json.dumps([asdict(r) for r in RESULTS], indent=2))
    rows = [f"{'point':38} {'recovered':9} {'orphans':7} {'doubles':7} how"]
    rows += [
        f"{r.point:38} {r.recovered!s:9} {r.orphans:<7} {r.doubles:<7} {r.how} {r.seconds:.0f} s"
        for r in RESULTS
    ]
    sys.stdout.write("\n" + "\n".join(rows) + f"\n(written to {path})\n")


# --- the points ------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """Where to kill: the starting state, the change the killed `up` makes, the moment."""

    name: str
    how: str  # "next run" | "recover"
    project: str  # the stack whose `up` is killed
    baseline: tuple[str, ...]  # stacks brought up before, in this process
    change: dict[str, str] = field(default_factory=dict)  # backend config before the kill
    hold: Hold | None = None
    moment: str = "held"  # "held" | "lock" | "booting" | "terminating"
    after_s: float = 0.0


INSTANCE_PATH = r"/api/v1/instances/[0-9a-f]+"
POINTS = [
    Point("lock taken, nothing begun", "next run", "backend", ("shared",), moment="lock"),
    Point(
        "create begun, nothing launched",
        "recover",
        "backend",
        ("shared",),
        hold=Hold("GET", r"/api/v1/instances", when="before"),
    ),
    Point("instance booting", "recover", "backend", ("shared",), moment="booting", after_s=0.3),
    Point(
        "instance active, answer held",
        "next run",
        "backend",
        ("shared",),
        hold=Hold("GET", INSTANCE_PATH, body='"status":"active"'),
    ),
    Point(
        "ssh key made, answer held", "recover", "shared", (), hold=Hold("POST", r"/api/v1/ssh-keys")
    ),
    Point(
        "filesystem made, answer held",
        "next run",
        "shared",
        (),
        hold=Hold("POST", r"/api/v1/filesystems"),
    ),
    Point(
        "firewall ruleset made, answer held",
        "recover",
        "shared",
        (),
        hold=Hold("POST", r"/api/v1/firewall-rulesets"),
    ),
    Point(
        "blue-green: old colour mid-delete",
        "next run",
        "backend",
        ("shared", "backend"),
        change={"colours": '["green"]', "active_colour": "green"},
        moment="terminating",
    ),
    Point(
        "replace: new instance booting",
        "recover",
        "backend",
        ("shared", "backend"),
        change={"instance_type": "gpu_1x_a10"},
        moment="booting",
        after_s=0.3,
    ),
]
CHOSEN = [p for p in POINTS if SOAK or p.name in CI_POINTS]


def reached(point: Point, site: Site, cloud: Cloud, before: set[str]) -> Callable[[], bool]:
    if point.moment == "lock":
        return lambda: bool(site.locks())
    if point.moment == "booting":
        return lambda: any(
            i["status"] == "booting" and i["id"] not in before for i in cloud.instances()
        )
    if point.moment == "terminating":
        return lambda: any(i["status"] == "terminating" for i in cloud.instances())
    return cloud.holding.holding


@pytest.mark.parametrize("point", CHOSEN, ids=[p.name for p in CHOSEN])
def test_a_killed_up_is_recovered_with_no_orphan_and_no_double(
    point: Point, site: Site, cloud: Cloud
) -> None:
    started = time.monotonic()
    outcome = Outcome(point.name, point.how)
    RESULTS.append(outcome)
    engine = site.engine()
    for project in point.baseline:
        engine.up(site.stack(engine, project))
    backend = site.stack(engine, "backend")
    engine.set_config(backend, {f"orchestra-backend:{k}": v for k, v in point.change.items()})
    before = {i["id"] for i in cloud.instances()}
    if point.hold is not None:
        cloud.holding.hold(point.hold)
    lap = outcome.lap("baseline", started)
    worker = up_in_worker(site, point.project)
    moment = reached(point, site, cloud, before)
    kill_when(worker, moment, point.name, timeout_s=90, after_s=point.after_s, group=True)
    cloud.holding.release()
    lap = outcome.lap("killed up", lap)
    outcome.left_at_kill = left_at_kill(site, cloud)
    assert site.locks(), f"the kill at {point.name} left no lock: {outcome.left_at_kill}"

    fresh = site.engine()  # the next run: a new process builds a new engine
    ref = site.stack(fresh, point.project)
    converged = True
    if point.how == "recover":
        done = recover_cli(site)
        report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
        outcome.details += [line for c in report.get("pending", []) for line in c["lines"]]
        assert done.returncode == 0, f"recover: {done.stdout[-3000:]} {done.stderr[-3000:]}"
        lap = outcome.lap("recover", lap)
        judge(site, cloud, outcome)  # what recover left, before any up
        # What recover adopted is what the program asks for, and nothing it keeps is
        # undeclared: the next up may only create what recover did not find or dropped.
        planned = {op: n for op, n in fresh.preview(ref).counts.items() if op != "same"}
        outcome.details.append(f"planned after recover: {planned}")
        converged = set(planned) <= {"create"}
        lap = outcome.lap("preview", lap)
    if point.how == "next run" or SOAK:
        worst = (outcome.orphans, outcome.doubles)
        fresh.up(ref, on_event=outcome.note)
        lap = outcome.lap("next up", lap)
        judge(site, cloud, outcome)
        outcome.orphans = max(worst[0], outcome.orphans)
        outcome.doubles = max(worst[1], outcome.doubles)
        if SOAK:  # the stack converged: nothing more to change
            converged = converged and fresh.preview(ref).changes == 0
            outcome.lap("preview after up", lap)
    left = [d for d in outcome.details if "lock left" in d or "still pending" in d]
    outcome.recovered = not left and converged
    outcome.seconds = time.monotonic() - started
    assert (outcome.orphans, outcome.doubles) == (0, 0), outcome.details
    assert outcome.recovered, outcome.details


def test_a_checkpoint_sidecar_torn_by_a_kill_is_removed_and_the_stack_read_again(
    site: Site,
) -> None:
    """Met in a soak run: a kill inside the file backend's write of ``dev.json.attrs``
    (truncated, not yet rewritten) left every later command failing."""
    assert CLI is not None
    sidecar = site.backend_dir / "stacks" / "orchestra-backend" / "dev.json.attrs"
    assert sidecar.is_file()
    sidecar.write_text("")  # what the kill left
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": (site.state / "pulumi" / "state").resolve().as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    export = [str(CLI.executable), "stack", "export", "--stack", "dev"]
    torn = subprocess.run(
        export, env=env, cwd=site.root / "backend", capture_output=True, text=True, timeout=120
    )
    assert torn.returncode != 0 and "failed to load checkpoint" in torn.stderr, torn.stderr
    engine = site.engine()
    assert json.loads(engine.export(site.stack(engine, "backend")))["deployment"]
    assert not sidecar.exists()
