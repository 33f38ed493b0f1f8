"""`fairmicro build` commands (registered on the app by `register`).

No ``from __future__ import annotations`` here: typer evaluates the option
annotations, and the shared ``CatalogOption``/``WaitOption`` are imported inside ``register``.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fairmicro.cli.output import activity, deprecated, stdout_to_stderr, write_json
from fairmicro.errors import FairmicroError

if TYPE_CHECKING:
    from rich.console import Console

    from fairmicro.api.pipeline import BuildReport


def _mask_classes(entries: list[str]) -> dict[int, str]:
    classes = {}
    for entry in entries:
        value, sep, name = entry.partition("=")
        if not sep or not value.strip().isdigit() or not name.strip():
            raise FairmicroError(f"--mask-class {entry!r}: expected VALUE=NAME, e.g. 1=graphite")
        classes[int(value)] = name.strip()
    return classes


def _old_param(values: list[str] | None) -> tuple[str, ...]:
    """The deprecated ``--param`` (now ``--where-param``): still bound, with one warning line."""
    if values:
        deprecated("--param", "--where-param")
    return tuple(values or ())


def _old_label(old: str | None, label_column: str) -> str:
    """The deprecated ``--label COLUMN`` (now ``--label-column``; ``--label`` is a value in `review`)."""
    if old is None:
        return label_column
    deprecated("--label", "--label-column")
    return old


def _render(report: "BuildReport", console: "Console") -> None:
    from rich.table import Table

    console.print(
        f"built {report.name}: {report.rows} rows from {report.images} images -> {report.path}",
        highlight=False,
    )
    table = Table("class", *report.splits)
    for label in report.classes:
        table.add_row(label, *(str(split["classes"].get(label, 0)) for split in report.splits.values()))
    table.add_row("images", *(str(split["images"]) for split in report.splits.values()), style="dim")
    console.print(table)
    console.print(f"fingerprint {report.fingerprint}", highlight=False)
    for warning in report.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)


def _warn_unused_split_options(ctx: typer.Context, splits: str) -> None:
    """One warning line when --split-by/--seed are given with --splits folders, which ignores them."""
    from fairmicro.api.pipeline import names_published

    if not names_published(splits):
        return
    given = [
        f"--{name.replace('_', '-')}"
        for name in ("split_by", "seed")
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
    if given:
        sys.stderr.write(
            f"warning: {' and '.join(given)} ha{'ve' if len(given) > 1 else 's'} no effect with --splits folders "
            "(the published splits are kept)\n"
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`; heavy imports stay inside the commands."""
    from fairmicro.cli.commands import stdout
    from fairmicro.cli.options import CatalogOption, DataPathOption, JsonOption, QuietOption, WaitOption

    @app.command()
    def build(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Dataset name (card title, crate name, catalog record).")],
        out: Annotated[Path, typer.Option(help="Output folder (replaced if it holds an earlier build).")],
        license_id: Annotated[
            str,
            typer.Option("--license", help="SPDX licence id or expression, e.g. CC-BY-4.0, MIT, CC0-1.0."),
        ],
        where: Annotated[str, typer.Option(help="SQL predicate over image_metadata.")] = "TRUE",
        where_param: Annotated[
            list[str] | None,
            typer.Option("--where-param", metavar="VALUE", help="Value bound to a ? in --where (repeatable)."),
        ] = None,
        label_column: Annotated[
            str, typer.Option("--label-column", help="image_metadata column holding the class label.")
        ] = "label",
        old_param: Annotated[list[str] | None, typer.Option("--param", hidden=True)] = None,  # deprecated
        old_label: Annotated[str | None, typer.Option("--label", hidden=True)] = None,  # deprecated
        task: Annotated[
            str,
            typer.Option(
                help="classification (a label per row) or segmentation (image + mask rows from "
                "`ingest --masks`; whole images unless --tile)."
            ),
        ] = "classification",
        tile: Annotated[int | None, typer.Option(min=1, help="Square tile edge in px (default: whole images).")] = None,
        stride: Annotated[
            int | None,
            typer.Option(min=1, help="Step between tiles (default: --tile, no overlap)."),
        ] = None,
        keep_data_bar: Annotated[bool, typer.Option(help="Do not crop the vendor data bar.")] = False,
        crop_bottom: Annotated[
            int,
            typer.Option(
                help="Cut PX rows off the bottom of images with no recorded data bar (PNG/JPEG exports).",
                metavar="PX",
            ),
        ] = 0,
        mask_guided: Annotated[bool, typer.Option(help="Keep only tiles whose mask is one class.")] = False,
        mask_dir: Annotated[Path | None, typer.Option(help="Masks named like the images (<stem>.png/.tif).")] = None,
        mask_purity: Annotated[float, typer.Option(help="Share of a tile's mask that must be one class.")] = 1.0,
        mask_class: Annotated[
            list[str] | None,
            typer.Option(help="VALUE=NAME: label tiles from the mask (repeatable)."),
        ] = None,
        split_by: Annotated[str, typer.Option(help="Column whose groups never span two splits.")] = "specimen_id",
        splits: Annotated[
            str,
            typer.Option(
                help="Fractions of train[,validation],test, or `folders`: the published splits, each image's "
                "train/val/test folder."
            ),
        ] = "0.7,0.15,0.15",
        seed: Annotated[int, typer.Option(help="Seed of the split assignment.")] = 0,
        allow_empty_class: Annotated[bool, typer.Option(help="Build even if a split lacks a class.")] = False,
        creator: Annotated[
            list[str] | None,
            typer.Option(
                help="'Name <ORCID iD>' (repeatable; default: $FAIRMICRO_CREATOR, "
                "[build] creator in ~/.config/fairmicro/config.toml, or git user.name)."
            ),
        ] = None,
        description: Annotated[str | None, typer.Option(help="Dataset description for card and crate.")] = None,
        keyword: Annotated[list[str] | None, typer.Option(help="Keyword (repeatable).")] = None,
        citation: Annotated[str | None, typer.Option(help="Citation text (default: generated BibTeX).")] = None,
        max_shard_mb: Annotated[int, typer.Option(min=1, help="Roll over to a new shard after this many MB.")] = 500,
        validate: Annotated[bool, typer.Option(help="Validate the RO-Crate and Croissant files.")] = True,
        json_output: JsonOption = False,
        quiet: QuietOption = False,
        at_snapshot: Annotated[
            int | None,
            typer.Option(
                "--at-snapshot",
                min=0,
                metavar="N",
                help="Read a shared (DuckLake) catalog as it was at snapshot N (a build records the one it read).",
            ),
        ] = None,
        catalog: CatalogOption = None,
        data_path: DataPathOption = None,
        wait: WaitOption = None,
    ) -> None:
        """Build a Hugging Face dataset (Parquet + card), RO-Crate and Croissant from the catalog."""
        from fairmicro.api.pipeline import build as run_build

        _warn_unused_split_options(ctx, splits)

        options: dict[str, Any] = {
            "where": where,
            "params": tuple(where_param or ()) + _old_param(old_param),
            "label": _old_label(old_label, label_column),
            "task": task,
            "tile": tile,
            "stride": stride,
            "keep_data_bar": keep_data_bar,
            "crop_bottom": crop_bottom,
            "mask_guided": mask_guided,
            "mask_dir": mask_dir,
            "mask_purity": mask_purity,
            "mask_classes": _mask_classes(mask_class or []),
            "split_by": split_by,
            "splits": splits,
            "seed": seed,
            "allow_empty_class": allow_empty_class,
            "creators": tuple(creator or ()),
            "description": description,
            "keywords": tuple(keyword or ()),
            "citation": citation,
            "max_shard_mb": max_shard_mb,
            "validate": validate,
            "at_snapshot": at_snapshot,
        }
        with activity("build", quiet=json_output or quiet) as advance, stdout_to_stderr(json_output):
            report = run_build(name, out, license=license_id, catalog=catalog, on_image=advance, **options)
        if json_output:
            write_json(report.to_dict())
        else:
            _render(report, stdout)
