"""Tasks: what model plugins of one kind share (columns, fitting, metrics, plots, catalog rows).

Built-in tasks are named here and imported only when asked for; third-party
tasks register through the ``fairmicro.tasks`` entry-point group (``name =
"package.module:TaskClass"``). A plugin names its task in its ``task`` class
attribute; :func:`get_task` gives the task object.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.models.tasks.base import Task

GROUP = "fairmicro.tasks"
BUILTIN: dict[str, str] = {
    "classification": "fairmicro.models.tasks.classification:ClassificationTask",
    "segmentation": "fairmicro.models.tasks.segmentation:SegmentationTask",
    "pretraining": "fairmicro.models.tasks.pretraining:PretrainingTask",
    "zero-shot": "fairmicro.models.tasks.zero_shot:ZeroShotTask",
}


def task_names() -> list[str]:
    """Every registered task name."""
    return sorted({*BUILTIN, *(entry.name for entry in entry_points(group=GROUP))})


def _load(target: str) -> type[Task]:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


def get_task(name: str) -> Task:
    """The task registered as ``name``.

    Raises
    ------
    ModelError
        If no task has that name.
    """
    from fairmicro.models.tasks.base import Task

    if name in BUILTIN:
        found: type[Task] = _load(BUILTIN[name])
    else:
        entries = {entry.name: entry for entry in entry_points(group=GROUP)}
        if name not in entries:
            raise ModelError(f"no model task {name!r}; known: {', '.join(task_names())}")
        found = entries[name].load()
    if not (isinstance(found, type) and issubclass(found, Task)):
        raise ModelError(f"model task {name!r} is not a Task subclass")
    return found()


__all__ = ["BUILTIN", "GROUP", "get_task", "task_names"]
