"""Task runs named after what they act on: ``deploy[admin-interface]``, ``up_stack[backend/dev]``.

Prefect names a task run ``<task>-<3 hex digits>`` unless the task carries a
``task_run_name``. :func:`named` gives a task a :class:`RunName`: a template formatted
with the call's parameters (``{app}``, an attribute ``{plan.app}``, or the last part of
a path with ``{repo_path:name}``), so the UI's graph and logs say which app, stack or
environment each run touched.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Task
from prefect.tasks import TaskRunNameCallbackWithParameters

P = ParamSpec("P")
R = TypeVar("R")


class _Formatter(string.Formatter):
    """``str.format`` plus two specs: ``{x:name}`` is the last part of the path ``x``;
    ``{xs:names}`` the last parts of the paths ``xs``, joined by commas."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "name":
            return PurePath(str(value)).name
        if format_spec == "names":
            return ", ".join(PurePath(str(v)).name for v in value)
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


class RunName:
    """A task run's name: ``template`` formatted with the run's parameters."""

    def __init__(self, template: str) -> None:
        self.template = template

    @property
    def fields(self) -> frozenset[str]:
        """The parameter names the template reads (``plan`` for ``{plan.app}``)."""
        names = (f for _, f, _, _ in _FORMATTER.parse(self.template) if f is not None)
        return frozenset(f.split(".", 1)[0].split("[", 1)[0] for f in names)

    def __call__(self, parameters: Mapping[str, Any]) -> str:
        """Prefect calls this with the run's parameters (the name ``parameters`` matters)."""
        return _FORMATTER.vformat(self.template, (), parameters)

    def __repr__(self) -> str:
        return f"RunName({self.template!r})"


def named(template: str) -> Callable[[Task[P, R]], Task[P, R]]:
    """Decorate a task (above ``@local_task``/``@cloud_task``) to name runs by ``template``."""
    run_name = RunName(template)

    # Prefect's protocol also lists the classmethod it uses to recognise such callables
    # (a ``parameters`` argument), which a plain callable object need not define.
    as_callback = cast(TaskRunNameCallbackWithParameters, run_name)

    def rename(task: Task[P, R]) -> Task[P, R]:
        return task.with_options(task_run_name=as_callback)

    return rename
