"""``fairmicro qualify``: zero-shot CLIP + FLAVA qualification against expert assessments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fairmicro.cli.options import CatalogOption, DataPathOption, QuietOption, WaitOption
from fairmicro.cli.output import activity, deprecated, stdout_to_stderr
from fairmicro.errors import FairmicroError

FORMATS = ("table", "json")
TABLE_COLUMNS = ("path", "assessment", "delta_clip", "delta_flava", "z_clip", "z_flava", "hybrid", "decision")


def qualify(
    assessments: Annotated[
        str, typer.Option(help="Assessment YAML file, or a built-in set: ni-wc (see docs/qualify.md).")
    ],
    where: Annotated[str, typer.Option(help="SQL predicate over image_metadata choosing the images.")] = "TRUE",
    clip: Annotated[
        str, typer.Option(help="CLIP model: Hub id[@revision] or local folder.")
    ] = "openai/clip-vit-base-patch32",
    flava: Annotated[str, typer.Option(help="FLAVA model: Hub id[@revision] or local folder.")] = "facebook/flava-full",
    fusion: Annotated[str, typer.Option(help="zsum (z_clip + z_flava) or weighted (see --fusion-weights).")] = "zsum",
    fusion_weights: Annotated[
        str | None,
        typer.Option(
            "--fusion-weights",
            metavar="CLIP,FLAVA",
            help="Weights for --fusion weighted, summing to 1 (default 0.5,0.5).",
        ),
    ] = None,
    old_weights: Annotated[str | None, typer.Option("--weights", hidden=True)] = None,  # deprecated
    threshold: Annotated[float, typer.Option(help="hybrid >= threshold means accept.")] = 0.0,
    calibration: Annotated[
        str | None,
        typer.Option(
            help="SQL predicate choosing the images mu and sigma come from (decisions independent of the batch)."
        ),
    ] = None,
    normalise: Annotated[
        str | None,
        typer.Option(
            help="batch: mu and sigma over the scored images, as the paper did (the default without --calibration)."
        ),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Nearest reference images listed per result.")] = 3,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    explain: Annotated[
        bool, typer.Option(help="Print the prompts, references and statistics behind decisions.")
    ] = False,
    render_masks: Annotated[
        bool,
        typer.Option(
            "--render-masks",
            help="Score each image's stored mask drawn in its class colours (images without one are skipped).",
        ),
    ] = False,
    mask_source: Annotated[
        str, typer.Option(help="With --render-masks: any (manual, else newest predicted), manual or predicted.")
    ] = "any",
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Same as --format json (the summary goes to stderr).")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Score catalog images against expert assessments with CLIP and FLAVA (zero-shot, Safdar et al.)."""
    from fairmicro.api.runs import qualify as run_qualify

    if old_weights is not None:  # `--weights` is the backbone start of `train hybrid-cnn`
        deprecated("--weights", "--fusion-weights")
        fusion_weights = old_weights if fusion_weights is None else fusion_weights
    output_format = "json" if json_output else output_format
    if output_format not in FORMATS:
        raise FairmicroError(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
    with activity("qualify", quiet=quiet or output_format == "json"), stdout_to_stderr(output_format == "json"):
        result = run_qualify(
            assessments,
            where,
            catalog=catalog,
            clip=clip,
            flava=flava,
            fusion=fusion,
            fusion_weights=fusion_weights,
            threshold=threshold,
            calibration=calibration,
            normalise=normalise,
            top_k=top_k,
            render_masks=render_masks,
            mask_source=mask_source,
        )
    for skipped in result.skipped:
        typer.echo(f"warning: skipped {skipped.path}: {skipped.reason}", err=True)
    to_stderr = output_format == "json"
    if output_format == "json":
        from fairmicro.api.runs import qualify_json

        typer.echo(qualify_json(result))
    else:
        _table(result.rows)
    typer.echo(_summary(result), err=to_stderr)
    if explain:
        typer.echo("\n".join(_explanation(result)), err=to_stderr)


def _table(rows: list[dict[str, Any]]) -> None:
    import fairmicro as fm
    from fairmicro.cli.output import render_result

    shown = [tuple(round(row[c], 4) if isinstance(row[c], float) else row[c] for c in TABLE_COLUMNS) for row in rows]
    render_result(fm.QueryResult(list(TABLE_COLUMNS), shown), "table")


def _summary(result: Any) -> str:
    metrics = result.metrics
    accepted = ", ".join(f"{name} {count}/{metrics['images']}" for name, count in metrics["accepted"].items())
    if metrics["normalisation"] == "batch":
        how = (
            "z-scores normalised over this batch (--normalise batch); pass --calibration SQL for decisions "
            "that do not depend on the batch"
        )
    else:
        how = f"z-scores normalised over the calibration selection ({metrics['calibration']['images']} images)"
    embedded = ", ".join(
        f"{kind} {c['computed']} computed/{c['cached']} cached" for kind, c in metrics["embeddings"].items()
    )
    drawn = (
        ""
        if not result.parameters.get("render_masks")
        else f"; stored masks drawn in class colours, {len(result.skipped)} image(s) skipped without a mask"
    )
    return f"run {result.run_id}: accepted {accepted}; {how}; embeddings {embedded}{drawn}"


def _explanation(result: Any) -> list[str]:
    lines = []
    params = result.parameters
    lines.append(
        f"fusion {params['fusion']}"
        + (f" weights {params['weights']}" if params["weights"] else "")
        + f", threshold {params['threshold']}: hybrid >= threshold accepts"
    )
    for name, info in result.explanations.items():
        stats = result.metrics["statistics"][name]
        lines.append(f"assessment {name}: {info['criterion']}")
        lines.extend(f"  + prompt: {p}" for p in info["positive_prompts"])
        lines.extend(f"  - prompt: {p}" for p in info["negative_prompts"])
        lines.extend(f"  + reference: {p}" for p in info["positive_references"])
        lines.extend(f"  - reference: {p}" for p in info["negative_references"])
        lines.append(
            f"  mu/sigma CLIP {stats['mu_clip']:.4g}/{stats['sigma_clip']:.4g}, FLAVA "
            f"{stats['mu_flava']:.4g}/{stats['sigma_flava']:.4g} over {stats['count']} image(s)"
        )
    for row in result.rows:
        nearest = "; ".join(f"{n['path']} ({n['cosine']:.3f})" for n in row["top_k"])
        lines.append(
            f"{row['path']} / {row['assessment']}: {row['decision']} (hybrid {row['hybrid']:.3f} = "
            f"z_clip {row['z_clip']:.3f}, z_flava {row['z_flava']:.3f}); nearest references: {nearest}"
        )
    return lines


def register(app: typer.Typer) -> None:
    """Add ``qualify`` to ``app``."""
    app.command()(qualify)
