"""A qualify run's decisions compared with labelled images: ``fairmicro evaluate RUN_ID --labels COLUMN``.

The labels are a column of ``image_metadata`` (``label``, or a specimen-table
lab column), read for the run's images when the evaluation runs. Convention
(case-insensitive; several labels in one value separated by ``,`` or ``;``):

- ``<assessment>-accept`` / ``<assessment>-reject`` (``porosity-accept``,
  ``heat-affected-zone-reject``): the image's expected decision for that
  assessment, the same labels the built-in ``ni-wc`` set reads its reference
  images from;
- a bare ``accept`` / ``reject``: the expected decision for every assessment of the run.

An image whose value names neither for an assessment is unlabelled for it (left
out, counted); one labelled both ways is conflicting (left out, counted). A
column in which no image of the run is labelled at all is refused.

Per assessment (``accept`` the positive class): the confusion matrix (rows
labelled, columns decided), accuracy, precision, recall, F1 and top-K accuracy
(of the K highest-hybrid labelled images, the share labelled ``accept``), from
:func:`fairmicro.models.tasks.zero_shot.decision_metrics`. The evaluation is an
``evaluate`` run (task ``zero-shot``) whose parent is the qualify run, with
``metrics.json``, ``decisions.json`` (every compared image) and
``confusion_matrix.png`` as artifacts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairmicro.catalog import Catalog
from fairmicro.catalog import qualifications as store
from fairmicro.catalog.connection import resolve_catalog_path
from fairmicro.errors import ModelError

if TYPE_CHECKING:
    from fairmicro.models.runner import RunResult

VERDICTS = ("accept", "reject")
SEPARATORS = re.compile(r"[,;]")
SHOWN_VALUES = 5


def parse_labels(value: Any, assessments: Sequence[str]) -> dict[str, set[str]]:
    """Assessment -> the verdicts a label value names for it (two verdicts: conflicting)."""
    if value is None or not isinstance(value, str):
        return {}
    names = {name.lower(): name for name in assessments}
    found: dict[str, set[str]] = {}
    for token in (t.strip().lower() for t in SEPARATORS.split(value)):
        if token in VERDICTS:
            for name in assessments:
                found.setdefault(name, set()).add(token)
            continue
        stem, _, verdict = token.rpartition("-")
        if verdict in VERDICTS and stem in names:
            found.setdefault(names[stem], set()).add(verdict)
    return found


def evaluate_labels(
    run_id: str, column: str, *, catalog: str | Path | None = None, runs_dir: str | Path | None = None
) -> RunResult:
    """Compare a qualify run's decisions with a labelled column; record an ``evaluate`` run.

    Parameters
    ----------
    run_id
        A succeeded qualify run (``fairmicro runs``).
    column
        An ``image_metadata`` column holding the labels (see the module docstring for the convention).
    catalog, runs_dir
        The catalog file, and where artifacts go (default ``fairmicro-runs/`` beside the catalog).

    Raises
    ------
    ModelError
        One line for an unknown run, a run that is not a succeeded qualify run, a missing column or a column
        labelling none of the run's images; no run row is written then.
    """
    path = resolve_catalog_path(catalog)
    with Catalog.open(path, read_only=True) as reader:
        _check_run(reader, run_id)
        results = _results(reader, run_id)
        values = _labels(reader, results, column, run_id)
    comparisons = compare(results, values)
    metrics = summarise(comparisons, column, run_id)
    _check_labelled(metrics, values, column, run_id)
    return _record(path, run_id, column, metrics, comparisons, runs_dir)


def _check_run(reader: Catalog, run_id: str) -> None:
    run = reader.model_run(run_id)
    if run is None:
        raise ModelError(f"no model run {run_id!r} in the catalog; list runs with `fairmicro runs`")
    if run.get("run_kind") != "qualify":
        raise ModelError(
            f"--labels compares a qualify run's decisions with labelled images; run {run_id} is a "
            f"{run.get('run_kind')} run (evaluate it with --dataset/--split instead)"
        )
    if run.get("status") != "succeeded":
        raise ModelError(f"qualify run {run_id} {run.get('status')}: it has no decisions to evaluate")


def _results(reader: Catalog, run_id: str) -> list[dict[str, Any]]:
    result = store.qualifications_of(reader, run_id)
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    if not rows:
        raise ModelError(f"qualify run {run_id} stored no decisions to evaluate")
    return rows


def _labels(reader: Catalog, results: list[dict[str, Any]], column: str, run_id: str) -> dict[str, Any]:
    columns = store.metadata_columns(reader)
    if column not in columns:
        close = [c for c in columns if "label" in c.lower() or c.lower() in column.lower()][:6]
        hint = f" (e.g. {', '.join(close)})" if close else ""
        raise ModelError(
            f"--labels {column!r}: no such column of image_metadata{hint}; it names the column "
            'holding accept/reject labels, see `fairmicro query "DESCRIBE image_metadata"`'
        )
    return store.column_values(reader, [row["image_sha256"] for row in results], column)


def compare(results: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every stored decision with its label: ``label`` is accept, reject, None (unlabelled) or ``conflicting``."""
    names = list(dict.fromkeys(row["assessment"] for row in results))
    compared = []
    for row in results:
        verdicts = parse_labels(values.get(row["image_sha256"]), names).get(row["assessment"], set())
        label = next(iter(verdicts)) if len(verdicts) == 1 else ("conflicting" if verdicts else None)
        compared.append(
            {
                "image_sha256": row["image_sha256"],
                "path": row["path"],
                "assessment": row["assessment"],
                "label": label,
                "decision": row["decision"],
                "hybrid": row["hybrid"],
            }
        )
    return compared


def summarise(comparisons: list[dict[str, Any]], column: str, run_id: str) -> dict[str, Any]:
    """The evaluation's metrics: per assessment the task's decision metrics, and the labelled counts."""
    from fairmicro.models.tasks.zero_shot import decision_metrics

    per: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(c["assessment"] for c in comparisons):
        rows = [c for c in comparisons if c["assessment"] == name]
        known = [c for c in rows if c["label"] in VERDICTS]
        scores = decision_metrics(
            [c["label"] for c in known],
            [c["decision"] for c in known],
            [c["hybrid"] for c in known],
            [f"{c['path']}\t{c['image_sha256']}" for c in known],
        )
        per[name] = {
            **scores,
            "unlabelled": sum(c["label"] is None for c in rows),
            "conflicting": sum(c["label"] == "conflicting" for c in rows),
        }
    total = sum(s["n"] for s in per.values())
    right = sum(s["confusion_matrix"][0][0] + s["confusion_matrix"][1][1] for s in per.values())
    return {
        "split": f"labels:{column}",
        "labels": column,
        "qualify_run": run_id,
        "n": total,
        "images": len({c["image_sha256"] for c in comparisons}),
        "assessments": per,
        "scores": {"accuracy": right / total if total else None},
    }


def _check_labelled(metrics: dict[str, Any], values: Mapping[str, Any], column: str, run_id: str) -> None:
    if metrics["n"]:
        return
    seen = sorted({str(v) for v in values.values() if v is not None})
    shown = ", ".join(repr(v) for v in seen[:SHOWN_VALUES]) + (", ..." if len(seen) > SHOWN_VALUES else "")
    raise ModelError(
        f"--labels {column}: none of the {metrics['images']} image(s) of run {run_id} has a label naming accept or "
        f"reject ({'values: ' + shown if seen else 'all empty'}); expected `<assessment>-accept`/`-reject` "
        "(e.g. porosity-accept) or a bare accept/reject, see docs/qualify.md"
    )


def _record(
    path: Path,
    run_id: str,
    column: str,
    metrics: dict[str, Any],
    comparisons: list[dict[str, Any]],
    runs_dir: str | Path | None,
) -> RunResult:
    from fairmicro import __version__
    from fairmicro.models import artifacts
    from fairmicro.models.provenance import RunRecorder, new_run_id
    from fairmicro.models.runner import RunResult, runs_folder
    from fairmicro.models.tasks.zero_shot import ZeroShotTask

    task = ZeroShotTask()
    recorder = RunRecorder(
        path,
        new_run_id("qualifier"),
        "qualifier",
        __version__,
        "evaluate",
        {"labels": column, "qualify_run": run_id},
        parent_run_id=run_id,
        task=task.name,
    )
    recorder.start()
    try:
        folder = runs_folder(path, runs_dir) / recorder.run_id
        folder.mkdir(parents=True, exist_ok=True)
        files = [
            *task.plots(folder, metrics, None, f"{run_id} against {column}"),
            _write_json(folder / "decisions.json", comparisons),
            artifacts.write_metrics(folder, metrics),
        ]
        roles = [file.stem if file.stem != "decisions" else "output" for file in files]
        described = [{**d, "role": role} for d, role in zip(artifacts.describe(files), roles, strict=True)]
        with Catalog.open(path) as writer, writer.transaction():
            recorder.complete(writer, metrics, described)
    except BaseException as exc:
        recorder.fail(str(exc) or type(exc).__name__)
        raise
    return RunResult(recorder.run_id, metrics, folder, task.name, task.summary(metrics))


def _write_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
