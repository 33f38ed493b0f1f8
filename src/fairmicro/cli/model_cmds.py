"""``fairmicro train / pretrain / evaluate / predict / runs / review`` (model plugins, provenance, labelling).

Plugin parameters come from the plugin's ``Params`` model: ``-p KEY=VALUE``
(JSON values) and, for every option the command itself does not know,
``--some-name VALUE`` / ``--some-name=VALUE`` (``--flag`` / ``--no-flag`` for
booleans; ``1,2,4`` for lists), matched to the field ``some_name``. A name
the plugin does not have is one line listing its parameters (exit 2), before
any run is recorded.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer

from fairmicro.api.runs import DEFAULT_ACCEPT
from fairmicro.cli.options import CatalogOption, DataPathOption, JsonOption, QuietOption, WaitOption
from fairmicro.cli.output import activity, deprecated, stdout_to_stderr, write_json
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
ParamOption = Annotated[
    list[str], typer.Option("--param", "-p", metavar="KEY=VALUE", help="Plugin parameter (JSON value); or --KEY VALUE.")
]
ACCEPT_FLAG = "given"
PLUGIN_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


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


def _usage_error(message: str) -> Exception:
    """A usage error for the caller to raise: one ``error:`` line, the command's usage, exit 2."""
    from fairmicro.cli.app import _click_errors

    return _click_errors().UsageError(message)


def _accepts(annotation: Any, kind: type) -> bool:
    """Whether a field's annotation is ``kind`` or a union containing it."""
    if annotation is kind or get_origin(annotation) is kind:
        return True
    return any(_accepts(arg, kind) for arg in get_args(annotation) if get_origin(annotation) is not list)


def _only_lists(annotation: Any) -> bool:
    """Whether every non-None form of a field's annotation is a list (``list[int]``, ``list[int] | None``)."""
    forms = [a for a in (get_args(annotation) if get_origin(annotation) is not list else ()) if a is not type(None)]
    return get_origin(annotation) is list or bool(forms) and all(get_origin(a) is list for a in forms)


def _option_value(field: Any, text: str) -> Any:
    value = _parse_value(text)
    if isinstance(value, str) and "," in value and _accepts(field.annotation, list):
        return [_parse_value(part.strip()) for part in value.split(",") if part.strip()]
    if not isinstance(value, list) and value is not None and _only_lists(field.annotation):
        return [value]  # `--distances 1` is the list [1]
    return value


def _known_options(plugin: Any) -> str:
    return ", ".join(f"--{name.replace('_', '-')}" for name in plugin.Params.model_fields) or "none"


def extra_params(plugin_name: str, tokens: list[str]) -> dict[str, Any]:
    """Plugin parameters from the options a command did not know (``--some-name VALUE``).

    Raises
    ------
    UsageError
        Code 2 after one line naming the unknown option or stray argument and the plugin's parameters.
    """
    if not tokens:
        return {}
    from fairmicro.api.plugins import plugin as get_plugin

    plugin = get_plugin(plugin_name)
    fields, params, rest = plugin.Params.model_fields, {}, list(tokens)
    while rest:
        token = rest.pop(0)
        if not token.startswith("--") or token == "--":
            raise _usage_error(f"unexpected argument {token!r}; {plugin_name} parameters: {_known_options(plugin)}")
        name, sep, text = token[2:].partition("=")
        key = name.replace("-", "_")
        negated = key.startswith("no_") and key[3:] in fields and _accepts(fields[key[3:]].annotation, bool)
        if key not in fields and not negated:
            raise _usage_error(f"{plugin_name} has no parameter --{name}; its parameters: {_known_options(plugin)}")
        if negated:
            params[key[3:]] = False
            continue
        is_flag = _accepts(fields[key].annotation, bool)
        if not sep and is_flag and (not rest or rest[0].startswith("--")):
            params[key] = True
            continue
        if not sep and not rest:
            raise _usage_error(f"option --{name} needs a value")
        params[key] = _option_value(fields[key], text if sep else rest.pop(0))
    _check_types(plugin_name, params)
    return params


def _check_types(plugin_name: str, params: dict[str, Any]) -> None:
    from fairmicro.api.plugins import check_params
    from fairmicro.errors import ModelError

    try:
        check_params(plugin_name, params)
    except ModelError as exc:
        raise _usage_error(str(exc)) from None


def _plugin_only(run_or_plugin: str, tokens: list[str]) -> dict[str, Any]:
    """Options a command does not know are parameters of a plugin named as argument; a run takes none."""
    from fairmicro.api.plugins import plugin_names

    if tokens and run_or_plugin not in plugin_names():
        raise _usage_error(f"unexpected {' '.join(tokens)!r}: plugin parameters apply to a plugin, not a run id")
    return extra_params(run_or_plugin, tokens)


def _print_summary(result: Any) -> None:
    """The task's lines for a finished run; the first names the run."""
    lines = result.summary or ["finished"]
    sys.stdout.write(f"run {result.run_id}: {lines[0]}\n" + "".join(f"{line}\n" for line in lines[1:]))


def _finish(result: Any, json_output: bool, **extra: Any) -> None:
    """A finished run: one JSON document, or its summary lines and the ``extra`` facts (``artifacts: ...``)."""
    if json_output:
        write_json(
            {
                "run_id": result.run_id,
                "task": result.task,
                "metrics": result.metrics,
                "folder": str(result.folder),
                "summary": result.summary,
                **extra,
            }
        )
        return
    _print_summary(result)
    for key, value in extra.items():
        sys.stdout.write(f"{key.replace('_', ' ')}: {value}\n")


@contextlib.contextmanager
def _running(label: str, json_output: bool, quiet: bool) -> Iterator[None]:
    """A progress line on a terminal's stderr; with ``--json`` library prints go to stderr, not into the document."""
    with activity(label, quiet=json_output or quiet), stdout_to_stderr(json_output):
        yield


def _need_dataset(dataset: str | None) -> str:
    if dataset is None:
        raise FairmicroError("--dataset is required (a Hub id, a built folder or a catalog dataset name)")
    return dataset


def train(
    ctx: typer.Context,
    plugin: Annotated[str, typer.Argument(help="Model plugin (see `fairmicro plugins`).")],
    dataset: DatasetOption = None,
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    param: ParamOption = [],  # noqa: B006
    mode: Annotated[str | None, typer.Option(help="texture: texture, metadata or hybrid.")] = None,
    metadata: Annotated[str | None, typer.Option(help="auto, none, or comma-separated columns.")] = None,
    backbone: Annotated[str | None, typer.Option(help="hybrid-cnn backbone, e.g. resnet50.")] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            metavar="imagenet|none|PATH",
            help="hybrid-cnn: the backbone's starting weights (not qualify's --fusion-weights).",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (epoch-trained plugins).")] = None,
    no_metadata: Annotated[bool, typer.Option("--no-metadata", hidden=True)] = False,  # deprecated
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    shuffle_metadata: ShuffleOption = False,
    runs_dir: RunsDirOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Train a model plugin on a dataset; the run and its artifacts land in the catalog.

    Any other --NAME VALUE sets the plugin's parameter NAME (see `fairmicro plugins`).
    """
    from fairmicro.api.runs import train as run_train

    dataset = _need_dataset(dataset)
    extra = extra_params(plugin, ctx.args)
    if no_metadata:
        deprecated("--no-metadata", "--metadata none")
    chosen = "none" if no_metadata else metadata
    explicit = {
        "mode": mode,
        "backbone": backbone,
        "weights": weights,
        "epochs": epochs,
        "seed": seed,
        "metadata": chosen,
        **extra,
    }
    with _running(f"train {plugin}", json_output, quiet):
        result = run_train(
            plugin,
            dataset,
            params=_params(param, explicit),
            catalog=catalog,
            runs_dir=runs_dir,
            shuffle_metadata=shuffle_metadata,
        )
    _finish(result, json_output, artifacts=result.folder)


def pretrain(
    ctx: typer.Context,
    plugin: Annotated[str, typer.Argument(help="A pretraining plugin (see `fairmicro plugins`).")],
    dataset: DatasetOption = None,
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    param: ParamOption = [],  # noqa: B006
    runs_dir: RunsDirOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Pretrain a plugin on unlabelled images of any dataset (no labels needed); a run of kind pretrain.

    Any other --NAME VALUE sets the plugin's parameter NAME (see `fairmicro plugins`).
    """
    from fairmicro.api.runs import pretrain as run_pretrain

    dataset = _need_dataset(dataset)
    extra = extra_params(plugin, ctx.args)
    with _running(f"pretrain {plugin}", json_output, quiet):
        result = run_pretrain(plugin, dataset, params=_params(param, extra), catalog=catalog, runs_dir=runs_dir)
    _finish(result, json_output, artifacts=result.folder)


def evaluate(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A training run id (see `fairmicro runs`), or a zero-shot plugin.")],
    dataset: DatasetOption = None,
    split: Annotated[str, typer.Option(help="Split to score.")] = "test",
    shuffle_metadata: ShuffleOption = False,
    param: ParamOption = [],  # noqa: B006
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    runs_dir: RunsDirOption = None,
    labels: Annotated[
        str | None,
        typer.Option(help="Qualify runs: compare decisions with this image_metadata column (docs/qualify.md)."),
    ] = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Score a trained model on a dataset split (default: the dataset it was trained on).

    A zero-shot plugin is scored by name, without a training run: `fairmicro evaluate PLUGIN --dataset D`.
    A qualify run is compared with labelled images: `fairmicro evaluate RUN_ID --labels COLUMN`.
    """
    from fairmicro.api.runs import evaluate as run_evaluate

    if labels is not None:
        if dataset is not None:
            raise FairmicroError("--labels compares a qualify run with a catalog column; --dataset does not apply")
        if ctx.args:
            raise FairmicroError(
                f"unexpected {' '.join(ctx.args)!r}: evaluate RUN_ID --labels COLUMN takes no other options"
            )
        with _running(f"evaluate {run_id}", json_output, quiet):
            result = run_evaluate(run_id, labels=labels, catalog=catalog, runs_dir=runs_dir)
        _finish(result, json_output, artifacts=result.folder)
        return
    extra = _plugin_only(run_id, ctx.args)
    with _running(f"evaluate {run_id}", json_output, quiet):
        result = run_evaluate(
            run_id,
            dataset,
            split,
            shuffle_metadata=shuffle_metadata,
            catalog=catalog,
            runs_dir=runs_dir,
            params=_params(param, extra) or None,
        )
    _finish(result, json_output)


def predict(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A training run id.")],
    where: Annotated[
        str, typer.Option(help="Classification: SQL predicate over image_metadata choosing the images.")
    ] = "label IS NULL",
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=1,
            metavar="P",
            help="Classification: store suggestions with probability >= P as labels "
            f"(default {DEFAULT_ACCEPT}); the rest wait for `fairmicro review`.",
            show_default=False,
        ),
    ] = None,
    dataset: DatasetOption = None,
    split: Annotated[str, typer.Option(help="Dataset predictions: the split to predict.")] = "test",
    out: Annotated[Path | None, typer.Option(help="Dataset predictions: folder for the files written.")] = None,
    annotate: Annotated[
        bool,
        typer.Option(
            "--annotate", help="Dataset predictions: store the outputs in the catalog as predicted annotations."
        ),
    ] = False,
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    runs_dir: RunsDirOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Predict with a trained model: label catalog images (classification) or a dataset split (e.g. masks)."""
    from fairmicro.api.runs import predict as run_predict

    accept = _accept_option(ctx.args)  # the deprecated spelling of --threshold P / --annotate
    if accept is not None:
        threshold = _threshold(accept) if threshold is None else threshold  # a bad value: the error alone
        deprecated("--accept", "--threshold P (classification) or --annotate (dataset predictions)")
        annotate = True
    with _running(f"predict {run_id}", json_output, quiet):
        result = run_predict(
            run_id,
            where=where,
            threshold=threshold,
            annotate=annotate,
            dataset=dataset,
            split=split,
            out=out,
            catalog=catalog,
            runs_dir=runs_dir,
        )
    if hasattr(result, "accepted"):  # catalog images labelled (a classification run)
        _report_labelling(result, DEFAULT_ACCEPT if threshold is None else threshold, json_output)
    else:
        _finish(result, json_output, **({} if out is None else {"written_to": out}))


def _accept_option(tokens: list[str]) -> str | None:
    """``--accept``, ``--accept P`` or ``--accept=P`` from the arguments typer left (None: not given)."""
    accept, rest = None, list(tokens)
    while rest:
        token = rest.pop(0)
        name, sep, value = token.partition("=")
        if name != "--accept":
            raise _usage_error(f"unexpected argument {token!r}; see `fairmicro predict --help`")
        if sep:
            accept = value
        elif rest and not rest[0].startswith("--"):
            accept = rest.pop(0)
        else:
            accept = ACCEPT_FLAG
    return accept


def _threshold(accept: str) -> float:
    """The probability of a deprecated ``--accept [P]`` (bare: the default)."""
    if accept == ACCEPT_FLAG:
        return DEFAULT_ACCEPT
    try:
        value = float(accept)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise FairmicroError(f"--accept {accept!r} must be a probability between 0 and 1")
    return value


def _report_labelling(result: Any, accept: float, json_output: bool) -> None:
    """What a classification predict did: labelled, queued for review, skipped."""
    for note in result.skipped:
        sys.stderr.write(f"warning: skipped {note}\n")
    if json_output:
        write_json(
            {
                "run_id": result.run_id,
                "task": "classification",
                "predicted": result.predicted,
                "accepted": result.accepted,
                "queued": result.queued,
                "threshold": accept,
                "skipped": list(result.skipped),
            }
        )
        return
    sys.stdout.write(
        f"run {result.run_id}: {result.predicted} image(s) predicted, {result.accepted} labelled "
        f"(p >= {accept}), {result.queued} queued for review (`fairmicro review`)\n"
    )


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    for command in (train, pretrain, evaluate, predict):
        app.command(context_settings=PLUGIN_ARGS)(command)
    from fairmicro.cli.labelling_cmds import review, runs

    for labelling_command in (runs, review):
        app.command()(labelling_command)
