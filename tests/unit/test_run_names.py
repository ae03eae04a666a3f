"""Task runs are named after their target (``deploy[admin-interface]``), not ``deploy-86e``."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from prefect import Task
from prefect._internal.engine import resolve_custom_task_run_name

import flows.roadmap_phases
import tasks.frontend
import tasks.provisioning
import tasks.reorganisation
import tasks.roadmap
import tasks.security
import tasks.state_migration
from tasks.run_names import RunName

MODULES = (
    tasks.frontend,
    tasks.provisioning,
    tasks.security,
    tasks.state_migration,
    flows.roadmap_phases,
    tasks.roadmap,
    tasks.reorganisation,
)
#: A task taking one of these acts on a target and must say which in its run name.
TARGETS = {"app", "project_ref", "project_id", "deployment_id", "stack", "environment", "phase"}


def _tasks(module: ModuleType) -> dict[str, Task[Any, Any]]:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, Task) and value.fn.__module__ == module.__name__
    }


def _name(task: Task[Any, Any], **parameters: Any) -> str:
    """The name Prefect's engine gives a run of ``task`` called with ``parameters``."""
    return resolve_custom_task_run_name(task, parameters)


def test_runs_name_the_app_stack_and_phase_they_act_on() -> None:
    plan = SimpleNamespace(app="dashboard")
    assert _name(tasks.frontend.deploy, app="admin-interface") == "deploy[admin-interface]"
    assert _name(tasks.frontend.check_build, plan=plan) == "check_build[dashboard]"
    assert (
        _name(tasks.provisioning.up_stack, project_dir=Path("/w/pulumi/backend"), stack="dev")
        == "up_stack[backend/dev]"
    )
    assert (
        _name(tasks.security.scan, repo_path="/srv/checkouts/orchestra-main")
        == "scan[orchestra-main]"
    )
    assert (
        _name(flows.roadmap_phases.migrate_app, phase="1A admin interface")
        == "migrate_app[1A admin interface]"
    )


def test_naming_keeps_the_retry_and_cache_policy() -> None:
    assert tasks.frontend.deploy.retries == 4  # a cloud task, still retried
    assert tasks.frontend.deploy.retry_condition_fn is not None
    assert tasks.frontend.deploy.name == "deploy"
    assert flows.roadmap_phases.migrate_app.persist_result is True  # a cached phase


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_task_with_a_target_is_named_from_its_own_parameters(module: ModuleType) -> None:
    found = _tasks(module)
    assert found, f"no tasks found in {module.__name__}"
    for name, task in found.items():
        parameters = set(inspect.signature(task.fn).parameters)
        run_name = task.task_run_name
        if parameters & TARGETS:
            assert isinstance(run_name, RunName), f"{module.__name__}.{name} has no run name"
        if isinstance(run_name, RunName):
            assert run_name.template.startswith(f"{name}["), run_name
            assert run_name.fields <= parameters, (name, run_name.fields - parameters)


def test_a_run_name_reads_attributes_and_path_names() -> None:
    name = RunName("x[{lease.environment}:{repo_path:name}:{n:>3}]")
    assert name.fields == {"lease", "repo_path", "n"}
    lease = SimpleNamespace(environment="dev")
    assert name(parameters={"lease": lease, "repo_path": "/a/b/repo/", "n": 7}) == "x[dev:repo:  7]"
    with pytest.raises(KeyError):
        name(parameters={"lease": lease})
    dirs = [Path("/i/pulumi/shared"), Path("/i/pulumi/backend")]
    assert RunName("check[{ds:names}]")(parameters={"ds": dirs}) == "check[shared, backend]"


def test_subflow_runs_name_their_app_and_environment() -> None:
    from prefect._internal.engine import resolve_custom_flow_run_name

    from flows.frontend_migration import frontend_migration
    from flows.lambda_provisioning import lambda_provisioning

    app = {"params": SimpleNamespace(app="dashboard")}
    environment = {"params": SimpleNamespace(environment="prod")}
    assert resolve_custom_flow_run_name(frontend_migration, app) == "dashboard"
    assert resolve_custom_flow_run_name(lambda_provisioning, environment) == "prod"


def test_scan_runs_name_their_repository() -> None:
    from prefect._internal.engine import resolve_custom_flow_run_name

    from flows.security_scan import SecurityScanParams, security_scan

    params = SecurityScanParams(repo_path="/srv/checkouts/orchestra-main/")
    assert resolve_custom_flow_run_name(security_scan, {"params": params}) == "orchestra-main"
