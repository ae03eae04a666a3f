"""Track 4's tasks: plan the reorganisation, carry it out, resume or roll back a run.

The repository is the ``ReorgRepository`` port (built in ``wiring``); the plan and the
validation are the pure domain of ``orchestra_ops.domain.reorg``.
"""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact

from orchestra_ops.domain.reorg.discover import discover
from orchestra_ops.domain.reorg.mapping import default_mapping, parse_mapping
from orchestra_ops.domain.reorg.model import ApplyResult, Plan
from orchestra_ops.domain.reorg.plan import build_plan, render_markdown
from orchestra_ops.domain.reorg.validate import validate_layout
from orchestra_ops.errors import ReorgError
from orchestra_ops.ports.repository import ReorgRepository
from orchestra_ops.settings import load_settings
from orchestra_ops.wiring import for_process
from tasks.policy import artifact_key, local_task
from tasks.run_names import named


def _repository(repo_path: str) -> ReorgRepository:
    return for_process(load_settings()).reorg_repository(Path(repo_path))


@named("plan_reorganisation[{repo_path:name}]")
@local_task
def plan_reorganisation(repo_path: str, mapping_file: str) -> Plan:
    """Discover the projects, read or default the mapping, and publish the plan.

    A project holding a symlink that leads outside the repo is refused in the plan (it
    stays put, the plan says why); references that cannot be followed are listed there.

    When the last run on this repo completed, its plan is the plan: the tree has already
    been reorganised, so re-applying it changes nothing.
    """
    repository = _repository(repo_path)
    done = repository.completed_plan()
    if done is not None:
        return done
    repo = Path(repo_path)
    snapshot = repository.snapshot()
    discovery = discover(snapshot)
    mapping_path = repo / mapping_file
    if mapping_path.is_file():
        mapping = parse_mapping(mapping_path.read_text(encoding="utf-8"), source=mapping_file)
    else:
        mapping = default_mapping(discovery)
    plan = build_plan(snapshot, mapping, repository.links())
    create_markdown_artifact(
        render_markdown(plan, discovery), key=artifact_key("reorg-plan", repo.name)
    )
    return plan


@named("apply_plan[{repo_path:name}]")
@local_task
def apply_plan(repo_path: str, plan: Plan) -> ApplyResult:
    """Apply on a new branch; then validate, rolling back if the new layout is broken."""
    repository = _repository(repo_path)
    result = repository.apply(plan)
    report = validate_layout(repository.snapshot(), plan)
    if not report.ok:
        repository.rollback()
        problems = "; ".join(str(p) for p in report.problems)
        raise ReorgError(f"the reorganised layout does not validate, rolled back: {problems}")
    return result


@named("resume_run[{repo_path:name}]")
@local_task
def resume_run(repo_path: str) -> ApplyResult:
    """Finish an interrupted run from where it stopped."""
    return _repository(repo_path).resume()


@named("roll_back_run[{repo_path:name}]")
@local_task
def roll_back_run(repo_path: str) -> None:
    """Undo an interrupted (or finished) run: the tree exactly as it was before it."""
    _repository(repo_path).rollback()
