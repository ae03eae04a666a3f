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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from orchestra_ops.adapters.git import Git
from orchestra_ops.adapters.lambda_cloud import LambdaCloudClient
from orchestra_ops.adapters.pulumi_engine import LAUNCHER, PulumiCli, find_cli
from orchestra_ops.domain.lambda_cloud import InstanceStatus, LaunchRequest
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
    ):
        backend = _backend(sandbox, endpoints)
        echo(f"existing backend API (a sandbox Lambda instance): {backend}")
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
            runs.append(_run("release 2, broken in production", roadmap, params, report_path, echo))
            index.write_text(release_1, encoding="utf-8")
        sandbox.vercel.log.clear()
        sandbox.lambda_cloud.log.clear()
        runs.append(_run("warm re-run (resume)", roadmap, params, report_path, echo))
        runs[-1]["mutating_api_calls"] = len(
            sandbox.vercel.log.mutating() + sandbox.lambda_cloud.log.mutating()
        )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["demo_runs"] = runs
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _summarise(report_path, echo)
    for run in runs:
        shown = {k: v for k, v in run.items() if k not in ("run", "phase_s")}
        echo(f"  {run['run']}: {json.dumps(shown)}")
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
) -> dict[str, Any]:
    echo(f"\n== {label} ==")
    started = time.monotonic()
    try:
        roadmap(params)
    except Exception as error:  # a failed roadmap is an outcome to show, not a crash
        echo(f"roadmap failed: {error}")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    phases = {p["phase"]: p for p in report["phases"]}
    echo(f"roadmap {report['state']} in {time.monotonic() - started:.1f} s")
    return {
        "run": label,
        "state": report["state"],
        "wall_s": round(time.monotonic() - started, 2),
        "rollbacks": {
            name: p["metrics"].get("restored")
            for name, p in phases.items()
            if p["metrics"].get("rolled_back")
        },
        # bench/roadmap.py bounds the wall time by the phase DAG of this same run
        "phase_s": {name: p["duration_s"] for name, p in phases.items()},
    }


def _as_expected(runs: list[dict[str, Any]], inject_failure: bool) -> bool:
    """With the injected failure, the middle run rolled back and production recovered."""
    if not inject_failure:
        return True
    return (
        runs[1]["state"] == "failed"
        and all(runs[1]["rollbacks"].values())
        and bool(runs[1]["rollbacks"])
    )


def _summarise(report_path: Path, echo: Callable[[str], Any]) -> None:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    echo(f"\nroadmap {report['state']}:")
    for phase in report["phases"]:
        echo(
            f"  {phase['phase']:<30} {phase['state']:<10} {phase['duration_s']:>7} s  "
            f"{phase['detail'][:90]}"
        )
    echo("success metrics:")
    for name, metric in report["metrics"].items():
        echo(f"  {name}: {json.dumps(metric)}")
    echo(f"\nreport: {report_path}")
