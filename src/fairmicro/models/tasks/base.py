"""The task contract: what every model plugin of one task shares.

A task (xarray ``BackendEntrypoint`` style: capabilities are class
attributes) owns the dataset columns its plugins need, how a plugin is fitted
(with or without labels), its metrics and plots, and the catalog rows a run
writes besides the run record. The runner (:mod:`fairmicro.models.runner`)
owns only the run lifecycle: run id, run record, artifact folder, provenance.

Flow of ``fairmicro train/pretrain PLUGIN --dataset D``::

    task = get_task(plugin.task)
    train = dataset[task.training_split(dataset)]
    task.check_dataset(train, "train")           # one-line ModelError naming the missing column
    parent = task.prepare(model, train, catalog) # e.g. load a pretraining run (--init); no run row yet
    task.fit(model, train, validation)           # model.fit(train, validation) or model.fit(train)
    split = task.evaluation_split(dataset)       # None: nothing to score (pretraining)
    evaluation = task.evaluate(model, dataset[split], split=split, seed=..., options=...)
    evaluation.metrics |= task.training_checks(model, dataset, evaluation, ...)
    paths = task.plots(folder, evaluation.metrics, model, title)
    with catalog.transaction(): run row completed; task.write_outputs(catalog, run_id, evaluation)

``fairmicro evaluate RUN_ID`` loads the run's model and calls
:meth:`Task.check_compatible` and :meth:`Task.evaluate`; a task with
``trains = False`` (zero-shot) is evaluated straight from the plugin and its
parameters, with no training run. ``fairmicro predict RUN_ID --dataset D
--out DIR`` calls :meth:`Task.predict_dataset` and, with ``--accept``,
:meth:`Task.write_predictions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog
    from fairmicro.models.base import ModelPlugin


@dataclass
class Evaluation:
    """A task's result on one split.

    Attributes
    ----------
    metrics : dict
        JSON-ready figures; ``split`` names the split scored. Stored in ``model_runs.metrics``.
    outputs : Any
        Per-row results (probabilities, masks, ...) that :meth:`Task.write_outputs` turns into rows.
    files : list of Path
        Files the task wrote besides its plots (e.g. predicted masks), recorded as artifacts.
    """

    metrics: dict[str, Any]
    outputs: Any = None
    files: list[Path] = field(default_factory=list)


class Task:
    """Base class of tasks; subclasses set the class attributes and override what differs.

    Attributes
    ----------
    name : str
        ``classification``, ``segmentation``, ``pretraining`` or ``zero-shot`` (the ``model_runs.task`` value).
    columns : tuple of str
        Dataset columns every split a plugin reads must have.
    fit_kind : str
        ``run_kind`` of the run that fits a plugin of this task (``train``, or ``pretrain``).
    trains : bool
        False when plugins are used as they are (zero-shot): evaluate needs no training run.
    """

    name: ClassVar[str] = ""
    columns: ClassVar[tuple[str, ...]] = ("image",)
    fit_kind: ClassVar[str] = "train"
    trains: ClassVar[bool] = True

    # ------------------------------------------------------------ dataset
    def check_dataset(self, data: Any, split: str = "train") -> None:
        """Refuse a split without the columns the task needs (one line naming the missing column)."""
        present = set(getattr(data, "column_names", []) or [])
        missing = [column for column in self.columns if column not in present]
        if missing:
            raise ModelError(
                f"the {split} split has no {', '.join(repr(c) for c in missing)} column, which a {self.name} model "
                f"needs; it has {', '.join(sorted(present)) or 'no columns'}{self._build_hint(missing)}"
            )

    def _build_hint(self, missing: list[str]) -> str:
        return ""

    def training_split(self, dataset: Any) -> str:
        """The split a plugin is fitted on (``train``)."""
        if "train" not in dataset:
            raise ModelError(f"dataset has no split 'train'; it has {', '.join(dataset)}")
        return "train"

    def evaluation_split(self, dataset: Any) -> str | None:
        """The split a training run scores: ``validation`` when present, else ``train``; None for none."""
        return "validation" if "validation" in dataset else "train"

    # -------------------------------------------------------------- model
    def check_model(self, model: ModelPlugin) -> None:
        """Refuse a plugin that does not implement this task's contract (a programming error of the plugin)."""

    def prepare(self, model: ModelPlugin, train: Any, catalog_path: Path | None) -> str | None:
        """Checks and loading before the run row exists (e.g. a pretrained start); returns a parent run id or None.

        A :class:`ModelError` raised here leaves no run row behind.
        """
        return None

    def fit(self, model: ModelPlugin, train: Any, validation: Any | None = None) -> ModelPlugin:
        """Fit ``model`` on the training split; ``validation`` may steer early stopping."""
        return model.fit(train, validation)

    def check_compatible(self, model: ModelPlugin, data: Any, split: str) -> None:
        """Refuse to score a split the model cannot be scored on (e.g. other classes)."""
        self.check_dataset(data, split)

    def evaluate(
        self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0, options: dict[str, Any] | None = None
    ) -> Evaluation:
        """Score ``model`` on ``data`` (the split named ``split``)."""
        raise ModelError(f"a {self.name} model cannot be evaluated on a dataset split")

    def training_checks(
        self,
        model: ModelPlugin,
        dataset: Any,
        evaluation: Evaluation,
        *,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Extra metrics only a training run computes (e.g. refits); merged into the run's metrics."""
        return {}

    # ------------------------------------------------------------ outputs
    def plots(self, folder: Path, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Path]:
        """Pictures of the run written into ``folder`` (each recorded as an artifact with its file stem as role)."""
        return []

    def write_outputs(self, catalog: Catalog, run_id: str, evaluation: Evaluation) -> None:
        """The catalog rows of a scored split, inside the transaction that completes the run."""

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Lines the CLI prints for a finished run (first line: the main figure)."""
        split = metrics.get("split")
        return [f"{self.name} run finished" + (f" ({split})" if split else "")]

    # ------------------------------------------------------------ predict
    def predict_dataset(self, model: ModelPlugin, data: Any, *, split: str, out: Path | None) -> Evaluation:
        """Predict every row of a dataset split (``fairmicro predict RUN --dataset D``), writing files into ``out``."""
        raise ModelError(
            f"a {self.name} model does not predict dataset splits; "
            "use `fairmicro predict RUN_ID --where ...` for catalog images"
        )

    def check_out(self, data: Any, out: Path | None, catalog_path: Path) -> None:
        """Refuse, before a run starts, an ``out`` that :meth:`predict_dataset` must not write into."""

    def write_predictions(self, catalog: Catalog, run_id: str, evaluation: Evaluation, *, accept: bool) -> None:
        """Store what :meth:`predict_dataset` produced (``accept``: as predicted annotations)."""
        self.write_outputs(catalog, run_id, evaluation)
