"""`orchestra-ops demo`: the whole roadmap on the sandbox, in one command.

Starts the sandbox, copies ``examples/orchestra-main`` and the Pulumi projects to a work
directory, stands a sandbox Lambda instance up as the existing backend API the frontends
point at, then runs the roadmap flow (2A provisions the new API instances blue-green) on
Prefect's local server. One production health failure is injected by default: the first run rolls
the affected app back and fails visibly; the second run resumes, re-running only what
did not complete. The report JSON goes to ``--report``.

The stacks run on the Pulumi engine (the CLI on PATH, or the one ``make pulumi`` builds),
on a file backend in the demo's state directory whatever ``PULUMI_*`` the caller has set.
Without the CLI the demo stops before it starts anything, saying what to run: a roadmap
whose provisioning phases were skipped is not the demo.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from orchestra_cli.demo_console import HeldErrors, errors_held, replay
from orchestra_ops.adapters.git import Git
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi.cli import LAUNCHER, PulumiCli, find_cli
from orchestra_ops.domain.lambda_cloud import InstanceStatus, LaunchRequest
from orchestra_ops.domain.roadmap_metrics import describe_metric, success_metrics
from orchestra_ops.sandbox.runner import Endpoints, Sandbox

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "orchestra-main"
INFRASTRUCTURE = ROOT / "infrastructure" / "pulumi"
NO_ENGINE = (
    "no Pulumi CLI (neither on PATH nor built by `make pulumi`): the demo provisions its "
    "Lambda stacks with it; run `make pulumi` (or install it, "
    "https://www.pulumi.com/docs/install/), then run the demo again"
)
STACK_ENGINE = {
    "ORCHESTRA_STACK_ENGINE": "pulumi",
    # The stacks live in the demo's state dir, never in the caller's Pulumi account.
    "PULUMI_ACCESS_TOKEN": "",
    "PULUMI_BACKEND_URL": "",
    "PULUMI_CONFIG_PASSPHRASE": "",
}
BROKEN_PHASE = "1A admin interface"
STARTUP_TIMEOUT_S = 180
#: Metrics the demo does not meet on purpose, and why.
EXPECTED_UNMET = {
    "zero high/critical findings": (
        "expected: examples/orchestra-main pins vulnerable versions on purpose, so the scan "
        "has findings to show (the demo runs the gate without blocking the roadmap)"
    ),
}


def _prepare_prefect(state_dir: Path) -> None:
    """A private Prefect home with its local SQLite server, no network calls."""
    os.environ.setdefault("PREFECT_HOME", str((state_dir / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Point settings at the sandbox for the demo only, and put everything back after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _private_results(folder: Path) -> Iterator[None]:
    """Keep the phases' cached results in the demo's own work dir, wiped at each start.

    Prefect stores them under ``~/.prefect/storage`` by default (its settings are read
    before the demo can set PREFECT_HOME): a second demo's "cold" run would then find the
    first demo's phases cached, provision nothing in its fresh sandbox, and write none of
    the files the warm run's cache keys expect.
    """
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: folder}):
        yield


def _backend(sandbox: Sandbox, endpoints: Endpoints) -> str:
    """Launch one dev instance in the sandbox; its HTTP endpoint is the backend API."""
    with LambdaCloudClient(endpoints.lambda_api_url, SecretStr(endpoints.lambda_api_key)) as api:
        if not any(k.name == "orchestra-demo" for k in api.list_ssh_keys()):
            api.generate_ssh_key("orchestra-demo")
        offers = api.instance_types()
        available = [o for o in offers.values() if o.regions_with_capacity_available]
        cheapest = min(available, key=lambda o: o.instance_type.price_cents_per_hour)
        region = cheapest.regions_with_capacity_available[0].name
        (instance_id,) = api.launch(
            LaunchRequest(
                region_name=region,
                instance_type_name=cheapest.instance_type.name,
                ssh_key_names=("orchestra-demo",),
                name="orchestra-api-demo",
            )
        )
        deadline = time.monotonic() + 60
        while api.get_instance(instance_id).status is not InstanceStatus.ACTIVE:
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox backend instance did not become active")
            time.sleep(0.2)
    url = sandbox.lambda_cloud.instance_health_url(instance_id)
    if url is None:
        raise RuntimeError("the sandbox backend instance has no health endpoint")
    return url.rsplit("/health", 1)[0]


def _start_prefect(echo: Callable[[str], Any]) -> None:
    """Start Prefect's local server now, and say so: otherwise the first run waits silently."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as STARTUP
    from prefect.settings import temporary_settings

    echo("starting Prefect's local server (its SQLite database is in the state dir) ...")
    started = time.monotonic()
    # Prefect read its settings at import, before _prepare_prefect; a busy machine needs
    # more than the default 20 s to start the server.
    with (
        temporary_settings({STARTUP: STARTUP_TIMEOUT_S}),
        get_client(sync_client=True) as client,  # the runs below reuse this server
    ):
        client.api_healthcheck()
        url = client.api_url
    echo(f"Prefect server ready at {url} in {time.monotonic() - started:.1f} s")


def run_demo(
    state_dir: Path, report_path: Path, *, inject_failure: bool, echo: Callable[[str], Any]
) -> int:
    """Run the demo; returns the process exit code (0 when the roadmap ends completed, 2
    when the Pulumi CLI is missing)."""
    if not _engine_ready(find_cli(), echo):
        return 2
    _prepare_prefect(state_dir)
    from flows.params import HealthParams
    from flows.roadmap import RoadmapParams, roadmap

    work = state_dir / "demo"
    shutil.rmtree(work, ignore_errors=True)
    repo = work / "orchestra-main"
    shutil.copytree(EXAMPLE, repo)
    Git(repo).init("orchestra-main as it is before the roadmap")
    infrastructure = work / "infrastructure" / "pulumi"
    for project in ("shared", "backend"):  # the engine writes stack config next to them
        shutil.copytree(INFRASTRUCTURE / project, infrastructure / project)
    sandbox = Sandbox(work / "sandbox", build_delay_s=1.0)
    with (
        sandbox as endpoints,
        _environment(
            {
                **endpoints.as_environment(),
                **STACK_ENGINE,
                "ORCHESTRA_STATE_DIR": str(work / "state"),
            }
        ),
        _private_results(work / "prefect-results"),
    ):
        backend = _backend(sandbox, endpoints)
        echo(f"existing backend API (a sandbox Lambda instance): {backend}")
        _start_prefect(echo)
        params = RoadmapParams(
            repo_path=str(repo),
            backend_api_url=backend,
            security_gate_blocks=False,
            health=HealthParams(consecutive=3, interval_s=0.2, budget_s=20),
            infrastructure_dir=str(infrastructure),
            instance_health=HealthParams(consecutive=2, interval_s=0.2, budget_s=20),
            report_path=str(report_path),
        )
        runs = [_run("cold run: the whole roadmap", roadmap, params, report_path, echo)]
        if inject_failure:
            index = repo / "admin-interface" / "index.html"
            release_1 = index.read_text(encoding="utf-8")
            index.write_text(release_1.replace("<title>", "<!-- release 2 --><title>", 1))
            sandbox.vercel.break_next_promotions(1)
            echo("\ninjected: release 2 of the admin interface breaks once in production")
            runs.append(
                _run("release 2, broken in production", roadmap, params, report_path, echo, True)
            )
            index.write_text(release_1, encoding="utf-8")
        sandbox.vercel.log.clear()
        sandbox.lambda_cloud.log.clear()
        runs.append(_run("warm re-run (resume)", roadmap, params, report_path, echo))
        runs[-1]["mutating_api_calls"] = len(
            sandbox.vercel.log.mutating() + sandbox.lambda_cloud.log.mutating()
        )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["metrics_over_runs"] = success_metrics([p for run in runs for p in run.pop("phases")])
    report["demo_runs"] = runs
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _summarise(report, report_path, echo)
    return 0 if runs[-1]["state"] == "completed" and _as_expected(runs, inject_failure) else 1


def _engine_ready(cli: PulumiCli | None, echo: Callable[[str], Any]) -> bool:
    """Say in one line which engine runs the stacks, or why none can."""
    if cli is None:
        echo(NO_ENGINE)
        return False
    if cli.launcher_dir is None:
        echo(
            f"the Pulumi CLI {cli.executable} has no {LAUNCHER} next to it, so the dynamic "
            "providers cannot run: run `make pulumi`, then run the demo again"
        )
        return False
    echo(f"stack engine: the Pulumi CLI {cli.executable} (from {cli.origin})")
    return True


def _run(
    label: str,
    roadmap: Callable[..., Any],
    params: Any,
    report_path: Path,
    echo: Callable[[str], Any],
    intended_failure: bool = False,
) -> dict[str, Any]:
    """One roadmap run; with ``intended_failure`` its error logs are held back (see
    demo_console) and replaced by one line when the failure is the injected one."""
    echo(f"\n== {label} ==")
    started = time.monotonic()
    holding: AbstractContextManager[HeldErrors | None] = (
        errors_held() if intended_failure else nullcontext()
    )
    with holding as held:
        try:
            roadmap(params)
            error = None
        except Exception as failure:  # a failed roadmap is an outcome to show, not a crash
            error = failure
    report = json.loads(report_path.read_text(encoding="utf-8"))
    run = {
        "run": label,
        "state": report["state"],
        "wall_s": round(time.monotonic() - started, 2),
        "rollbacks": {
            p["phase"]: p["metrics"].get("restored")
            for p in report["phases"]
            if p["metrics"].get("rolled_back")
        },
        # bench/roadmap.py bounds the wall time by the phase DAG of this same run
        "phase_s": {p["phase"]: p["duration_s"] for p in report["phases"]},
        "phases": report["phases"],
    }
    if held is not None and _is_the_injected_failure(report, run):
        echo(
            f"as intended: release 2 of the admin interface failed its production health "
            f"check, production was rolled back to release 1 and passed its gate again, and "
            f"the roadmap run ended Failed ({len(held.records)} error log lines and "
            f"{held.tracebacks} tracebacks about it are kept out of this console; the run's "
            "logs on the Prefect server have them)"
        )
    else:
        if held is not None:
            replay(held)  # not the failure we injected: it must be seen in full
        if error is not None:
            echo(f"roadmap failed: {error}")
    echo(f"roadmap {report['state']} in {run['wall_s']:.1f} s")
    return run


def _is_the_injected_failure(report: dict[str, Any], run: dict[str, Any]) -> bool:
    """Only the broken phase failed, it rolled back, and production was restored."""
    failed = [p["phase"] for p in report["phases"] if p["state"] == "failed"]
    return failed == [BROKEN_PHASE] and run["rollbacks"] == {BROKEN_PHASE: True}


def _as_expected(runs: list[dict[str, Any]], inject_failure: bool) -> bool:
    """With the injected failure, the middle run rolled back and production recovered."""
    if not inject_failure:
        return True
    return (
        runs[1]["state"] == "failed"
        and all(runs[1]["rollbacks"].values())
        and bool(runs[1]["rollbacks"])
    )


def _summarise(report: dict[str, Any], report_path: Path, echo: Callable[[str], Any]) -> None:
    echo(f"\nroadmap {report['state']} (the last run; cached phases show their lookup time):")
    for phase in report["phases"]:
        state = phase["state"] + (" (cached)" if phase.get("cached") else "")
        echo(
            f"  {phase['phase']:<30} {state:<19} {phase['duration_s']:>7} s  {phase['detail'][:90]}"
        )
    echo("success metrics over the three runs:")
    for name, metric in report["metrics_over_runs"].items():
        echo(f"  {describe_metric(name, metric)}")
        if metric.get("met") is False and name in EXPECTED_UNMET:
            echo(f"    {EXPECTED_UNMET[name]}")
    echo("runs:")
    for run in report["demo_runs"]:
        echo(f"  {_run_line(run)}")
    echo(f"\nreport: {report_path}")


def _run_line(run: dict[str, Any]) -> str:
    """``warm re-run (resume): completed in 4.7 s, 0 mutating API calls``."""
    line = f"{run['run']}: {run['state']} in {run['wall_s']:.1f} s"
    for phase, restored in run["rollbacks"].items():
        line += f", {phase} rolled back" + (
            " (production restored)" if restored else " (NOT restored)"
        )
    if "mutating_api_calls" in run:
        line += f", {run['mutating_api_calls']} mutating API calls"
    return line
