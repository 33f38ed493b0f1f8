"""Classification task: one class per image or tile, from the ``label`` ClassLabel column.

Plugins implement ``fit(train, validation)``, ``classes_`` and
``predict_proba(data)`` (columns in ``classes_`` order) and name the metadata
columns they read in ``metadata_columns_``. Metrics: accuracy, macro F1,
per-class report and confusion matrix; optionally the adversarial metadata
shuffle (at evaluation, and a refit on shuffled training metadata). Rows: one
``predictions`` row per image or tile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from fairmicro.errors import ModelError
from fairmicro.models.tasks.base import Evaluation, Task

if TYPE_CHECKING:
    from fairmicro.catalog import Catalog
    from fairmicro.models.base import ModelPlugin
    from fairmicro.schema import models

SHUFFLE = "shuffle_metadata"


def prediction_rows(
    run_id: str, split: str | None, data: Any, classes: list[str], probabilities: np.ndarray
) -> list[models.Prediction]:
    """One Prediction per dataset row (tile origin 0, 0 when the dataset is not tiled)."""
    from fairmicro.schema import models

    columns = data.column_names
    table = data.select_columns(
        [c for c in ("image_sha256", "tile_x_px", "tile_y_px", "label") if c in columns]
    ).to_dict()
    count = len(data)
    truth = table.get("label", [None] * count)
    rows = {}
    for index in range(count):
        key = (
            table["image_sha256"][index],
            (table.get("tile_x_px") or [0] * count)[index],
            (table.get("tile_y_px") or [0] * count)[index],
        )
        best = int(probabilities[index].argmax())
        rows[key] = models.Prediction(
            model_run_id=run_id,
            image_sha256=key[0],
            tile_x_px=int(key[1] or 0),
            tile_y_px=int(key[2] or 0),
            split=split,
            true_label=None if truth[index] is None else classes[truth[index]],
            predicted_label=classes[best],
            confidence=float(probabilities[index, best]),
            probabilities=json.dumps(dict(zip(classes, map(float, probabilities[index]), strict=True))),
        )
    return list(rows.values())


class ClassificationTask(Task):
    """Image or tile classification (texture, hybrid-cnn)."""

    name: ClassVar[str] = "classification"
    columns: ClassVar[tuple[str, ...]] = ("image", "label")

    def _build_hint(self, missing: list[str]) -> str:
        return "; build it with `fairmicro build ... --label COLUMN`" if "label" in missing else ""

    def check_dataset(self, data: Any, split: str = "train") -> None:
        """The split has ``image`` and a ``label`` ClassLabel column."""
        from fairmicro.models.data import class_names

        super().check_dataset(data, split)
        class_names(data)

    def check_model(self, model: ModelPlugin) -> None:
        """The plugin gives class probabilities."""
        if type(model).predict_proba is _base_predict_proba():
            raise ModelError(f"{model.name}: a classification plugin must implement predict_proba")

    def check_compatible(self, model: ModelPlugin, data: Any, split: str) -> None:
        """Same classes, in the same order, as the model was trained on."""
        from fairmicro.models.data import class_names

        self.check_dataset(data, split)
        if class_names(data) != model.classes_:
            raise ModelError(f"dataset classes {class_names(data)} differ from the model's {model.classes_}")

    def evaluate(
        self, model: ModelPlugin, data: Any, *, split: str, seed: int = 0, options: dict[str, Any] | None = None
    ) -> Evaluation:
        """Scores on ``data``; with option ``shuffle_metadata`` also the metadata-permuted accuracy."""
        probabilities, scores = _scores(model, data)
        metrics: dict[str, Any] = {"split": split, "scores": scores, "metadata_columns": list(model.metadata_columns_)}
        if (options or {}).get(SHUFFLE):
            metrics["shuffled_metadata_at_evaluation"] = _shuffle_check(model, data, scores, seed)
        return Evaluation(metrics, (split, data, list(model.classes_), probabilities))

    def training_checks(
        self,
        model: ModelPlugin,
        dataset: Any,
        evaluation: Evaluation,
        *,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The plugin's report; with ``shuffle_metadata`` a refit on shuffled training metadata."""
        extra: dict[str, Any] = {}
        report = model.report()
        if report:
            extra["model_report"] = report
        if (options or {}).get(SHUFFLE):
            split = evaluation.metrics["split"]
            extra["shuffled_metadata_at_training"] = _shuffled_training(
                model, dataset, split, evaluation.metrics["scores"], seed
            )
        return extra

    def plots(self, folder: Path, metrics: dict[str, Any], model: ModelPlugin | None, title: str) -> list[Path]:
        """``confusion_matrix.png``, and ``training_curves.png`` when the model has a history."""
        from fairmicro.models import artifacts

        pictures = [artifacts.plot_confusion(folder, metrics["scores"], title)]
        curves = artifacts.plot_history(folder, getattr(model, "history_", None)) if model is not None else None
        return pictures + ([curves] if curves else [])

    def write_outputs(self, catalog: Catalog, run_id: str, evaluation: Evaluation) -> None:
        """One ``predictions`` row per image or tile of the scored split."""
        split, data, classes, probabilities = evaluation.outputs
        catalog.add_predictions(prediction_rows(run_id, split, data, classes, probabilities))

    def summary(self, metrics: dict[str, Any]) -> list[str]:
        """Accuracy and macro F1, the plugin's summary lines, the shuffle checks."""
        scores = metrics["scores"]
        first = (
            f"{metrics['split']} accuracy {scores['accuracy']:.3f}, macro F1 {scores['macro_f1']:.3f} (n={scores['n']})"
        )
        lines = [first]
        lines += [f"  {line}" for line in (metrics.get("model_report") or {}).get("summary") or []]
        for key, label in (
            ("shuffled_metadata_at_evaluation", "metadata shuffled at evaluation"),
            ("shuffled_metadata_at_training", "metadata shuffled at training"),
        ):
            check = metrics.get(key)
            if check and "accuracy" in check:
                lines.append(f"  {label}: accuracy {check['accuracy']:.3f} (change {check['accuracy_change']:+.3f})")
            elif check:
                lines.append(f"  {label}: {check['skipped']}")
        return lines


def _base_predict_proba() -> Any:
    from fairmicro.models.base import ModelPlugin

    return ModelPlugin.predict_proba


def _scores(model: ModelPlugin, data: Any) -> tuple[np.ndarray, dict[str, Any]]:
    from fairmicro.models.data import labels
    from fairmicro.models.evaluation import score

    probabilities = model.predict_proba(data)
    return probabilities, score(model.classes_, labels(data), probabilities)


def _shuffle_check(model: ModelPlugin, data: Any, baseline: dict[str, Any], seed: int) -> dict[str, Any]:
    """Accuracy with the model's metadata columns permuted across rows."""
    from fairmicro.models.evaluation import shuffle_metadata

    if not model.metadata_columns_:
        return {"skipped": "the model uses no metadata"}
    _, shuffled = _scores(model, shuffle_metadata(data, model.metadata_columns_, seed))
    return {
        "accuracy": shuffled["accuracy"],
        "accuracy_change": shuffled["accuracy"] - baseline["accuracy"],
        "columns": list(model.metadata_columns_),
    }


def _shuffled_training(
    model: ModelPlugin, dataset: Any, split: str, baseline: dict[str, Any], seed: int
) -> dict[str, Any]:
    """Refit with the training metadata permuted across rows; compare accuracy on the same split."""
    from fairmicro.models.evaluation import shuffle_metadata

    if not model.metadata_columns_:
        return {"skipped": "the model uses no metadata"}
    validation = dataset.get("validation")
    shuffled_train = shuffle_metadata(dataset["train"], model.metadata_columns_, seed)
    control = type(model)(**model.get_params()).fit(shuffled_train, validation)
    _, scores = _scores(control, dataset[split])
    return {"accuracy": scores["accuracy"], "accuracy_change": scores["accuracy"] - baseline["accuracy"]}
