"""``fairmicro train / evaluate / predict / runs / review`` (model plugins, provenance, labelling)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from fairmicro.cli.options import CatalogOption, FormatOption, WaitOption
from fairmicro.errors import FairmicroError

DatasetOption = Annotated[
    str | None, typer.Option("--dataset", help="Hub id ORG/NAME[@REV], a built folder, or a catalog dataset name.")
]
RunsDirOption = Annotated[
    Path | None, typer.Option("--runs-dir", help="Artifact folder (default: fairmicro-runs/ beside the catalog).")
]
ShuffleOption = Annotated[
    bool, typer.Option("--shuffle-metadata", help="Also report accuracy with metadata permuted across rows.")
]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(pairs: list[str], explicit: dict[str, Any]) -> dict[str, Any]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise FairmicroError(f"--param {pair!r}: expected KEY=VALUE")
        params[key.strip().replace("-", "_")] = _parse_value(value)
    params.update({k: v for k, v in explicit.items() if v is not None})
    return params


def _print_summary(result: Any) -> None:
    """The task's lines for a finished run; the first names the run."""
    from fairmicro.cli.commands import stdout

    lines = result.summary or ["finished"]
    stdout.print(f"run {result.run_id}: {lines[0]}", highlight=False, markup=False, soft_wrap=True)
    for line in lines[1:]:
        stdout.print(line, highlight=False, markup=False, soft_wrap=True)


def train(
    plugin: Annotated[str, typer.Argument(help="Model plugin (see `fairmicro plugins`).")],
    dataset: DatasetOption = None,
    catalog: CatalogOption = None,
    wait: WaitOption = None,
    param: Annotated[list[str], typer.Option("--param", "-p", help="Plugin parameter KEY=VALUE (JSON values).")] = [],  # noqa: B006
    mode: Annotated[str | None, typer.Option(help="texture: texture, metadata or hybrid.")] = None,
    metadata: Annotated[str | None, typer.Option(help="auto, none, or comma-separated columns.")] = None,
    backbone: Annotated[str | None, typer.Option(help="hybrid-cnn backbone, e.g. resnet50.")] = None,
    weights: Annotated[str | None, typer.Option(help="hybrid-cnn weights: imagenet, none or a path.")] = None,
    epochs: Annotated[int | None, typer.Option(help="hybrid-cnn epochs.")] = None,
    no_metadata: Annotated[bool, typer.Option("--no-metadata", help="Image-only model.")] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    shuffle_metadata: ShuffleOption = False,
    runs_dir: RunsDirOption = None,
) -> None:
    """Train a model plugin on a dataset; the run and its artifacts land in the catalog."""
    from fairmicro.models.metadata import parse_metadata_option
    from fairmicro.models.runner import train as run_train

    if dataset is None:
        raise FairmicroError("--dataset is required (a Hub id, a built folder or a catalog dataset name)")
    chosen = "none" if no_metadata else metadata
    explicit = {"mode": mode, "backbone": backbone, "weights": weights, "epochs": epochs, "seed": seed,
                "metadata": None if chosen is None else parse_metadata_option(chosen)}
    result = run_train(plugin, dataset, _params(param, explicit), catalog=catalog, runs_dir=runs_dir,
                       shuffle_metadata_check=shuffle_metadata)
    _print_summary(result)
    typer.echo(f"artifacts: {result.folder}")


def evaluate(
    run_id: Annotated[str, typer.Argument(help="A training run id (see `fairmicro runs`).")],
    dataset: DatasetOption = None,
    split: Annotated[str, typer.Option(help="Split to score.")] = "test",
    shuffle_metadata: ShuffleOption = False,
    catalog: CatalogOption = None,
    wait: WaitOption = None,
    runs_dir: RunsDirOption = None,
) -> None:
    """Score a trained model on a dataset split (default: the dataset it was trained on)."""
    from fairmicro.models.runner import evaluate as run_evaluate

    result = run_evaluate(run_id, dataset, split, shuffle_metadata_check=shuffle_metadata, catalog=catalog,
                          runs_dir=runs_dir)
    _print_summary(result)


def predict(
    run_id: Annotated[str, typer.Argument(help="A training run id.")],
    where: Annotated[str, typer.Option(help="SQL predicate over image_metadata choosing the images.")] = "label IS NULL",
    accept: Annotated[float, typer.Option(help="Store suggestions at or above this probability as labels.")] = 0.9,
    catalog: CatalogOption = None,
    wait: WaitOption = None,
) -> None:
    """Suggest labels for catalog images; confident ones are stored, the rest queued for review."""
    from fairmicro.models.labelling import predict_catalog

    result = predict_catalog(run_id, where, accept, catalog=catalog)
    typer.echo(f"run {result.run_id}: {result.predicted} image(s) predicted, {result.accepted} labelled "
               f"(p >= {accept}), {result.queued} queued for review (`fairmicro review`)")
    for note in result.skipped:
        typer.echo(f"warning: skipped {note}", err=True)


def runs(
    catalog: CatalogOption = None,
    wait: WaitOption = None,
    output_format: FormatOption = "table",
) -> None:
    """List model runs with their main metric."""
    from fairmicro.cli.output import render_result
    from fairmicro.models.provenance import list_runs

    render_result(list_runs(catalog), output_format)


def review(
    image: Annotated[str | None, typer.Argument(help="sha256 (prefix) of the image to decide on.")] = None,
    accept: Annotated[bool, typer.Option("--accept", help="Confirm the model's suggestion.")] = False,
    label: Annotated[str | None, typer.Option(help="The correct label (one the catalog or model knows).")] = None,
    new_label: Annotated[bool, typer.Option("--new-label", help="Allow a label no image has yet (a new class).")] = False,
    catalog: CatalogOption = None,
    wait: WaitOption = None,
) -> None:
    """List suggestions waiting for review, or confirm/correct one (stored as a manual label)."""
    from fairmicro.cli.output import render_result
    from fairmicro.models.labelling import pending_reviews, set_manual_label

    if image is None:
        render_result(pending_reviews(catalog), "table")
        return
    if accept == (label is not None):
        raise FairmicroError("give exactly one of --accept or --label LABEL")
    if new_label and label is None:
        raise FairmicroError("--new-label needs --label LABEL")
    sha, chosen = set_manual_label(image, label, catalog=catalog, new_label=new_label)
    typer.echo(f"{sha[:12]}: manual label {chosen!r}")


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    for command in (train, evaluate, predict, runs, review):
        app.command()(command)
