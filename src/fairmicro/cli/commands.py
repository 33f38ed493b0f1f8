"""The typer app: every command, its options and its ``--help``.

``fairmicro ingest``, ``query`` and ``plugins`` with ordinary arguments never
import this module (typer and the pydantic it builds parameters with cost more
than the command itself): :func:`fairmicro.cli.app.main` parses them itself
(:mod:`fairmicro.cli.fast`) and calls the same bodies in
:mod:`fairmicro.cli.lean_cmds`. Help, version, unusual arguments and every
other command come here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fairmicro.cli import lean_cmds
from fairmicro.cli.app import _state
from fairmicro.cli.legible import make_legible
from fairmicro.cli.options import CatalogOption, DataPathOption, FormatOption, JsonOption, WaitOption

app = typer.Typer(
    name="fairmicro",
    help="Turn microscope images into a FAIR, queryable catalog and ML datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: never cuts an option name at 80 columns, never eats [@REV] as markup
)
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def _print_version(value: bool) -> None:
    if value:
        from fairmicro import __version__

        stdout.print(f"fairmicro {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logging.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug
    lean_cmds.configure(debug)


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Image files and folders (searched recursively).")],
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    specimens: Annotated[
        Path | None, typer.Option(help="Specimen table (CSV, TSV or XLSX) with a specimen_id or file-name column.")
    ] = None,
    specimen_pattern: Annotated[
        str | None, typer.Option(help="Regex with a (?P<specimen_id>...) group, searched in each file name.")
    ] = None,
    label_from_folder: Annotated[bool, typer.Option(help="Use the parent folder name as the image label.")] = False,
    label_column: Annotated[str | None, typer.Option(help="Column of the specimen table holding the label.")] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="SOURCE=SLOT",
            help="Map a specimen-table column to a schema slot, e.g. 'Anneal T [°C]=heat_treatment_temperature_c' "
            "(a unit in brackets is converted to the slot's unit). Repeatable.",
        ),
    ] = None,
    map_file: Annotated[Path | None, typer.Option(help="YAML file of 'SOURCE: slot' lines, like --map.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat every warning as a rejection; exit 1 on any problem.")] = False,
    json_output: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display on stderr.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Files per committed transaction.")] = 200,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="Processes reading, hashing and extracting files in parallel (0: one per CPU core, 1 on two cores or fewer).",
        ),
    ] = 1,
    masks: Annotated[
        Path | None,
        typer.Option(help="Folder of segmentation masks, named like their images (or see --mask-pattern)."),
    ] = None,
    mask_pattern: Annotated[
        str | None,
        typer.Option(help="Mask name from the image's stem, e.g. '{stem}_mask' (without --masks: beside the images)."),
    ] = None,
    mask_classes: Annotated[
        str | None,
        typer.Option(help="Label-map masks: class names by value, e.g. background,oxide,crack."),
    ] = None,
    mask_colors: Annotated[
        str | None,
        typer.Option(help="Colour-map masks: NAME=#RRGGBB,... (any other colour is background, class 0)."),
    ] = None,
    wait: WaitOption = None,
) -> None:
    """Extract, validate and catalogue images; incremental and content-hashed."""
    _exit(
        lean_cmds.ingest_command(
            paths,
            catalog,
            specimens,
            specimen_pattern,
            label_from_folder,
            label_column,
            column_map,
            map_file,
            strict,
            json_output,
            batch_size,
            jobs,
            masks,
            mask_pattern,
            mask_classes,
            mask_colors,
            quiet,
        )
    )


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over image_metadata and the catalog tables (docs/catalog.md).")],
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    output_format: FormatOption = "table",
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    write: Annotated[bool, typer.Option(help="Allow statements that change the catalog's tables.")] = False,
    unsafe: Annotated[
        bool, typer.Option(help="Lift the sandbox: let SQL read and write files, load extensions, change settings.")
    ] = False,
    wait: WaitOption = None,
) -> None:
    """Run SQL against the catalog (read-only and sandboxed unless --write / --unsafe)."""
    _exit(lean_cmds.query_command(sql, catalog, output_format, write, unsafe, json_output))


@app.command()
def plugins(json_output: JsonOption = False) -> None:
    """List registered extractors (in the order they are tried) and model plugins."""
    _exit(lean_cmds.plugins_command(json_output))


def _register_command_groups() -> None:
    from fairmicro.cli import build_cmds, catalog_cmds, model_cmds, publish_cmds, qualify_cmds, serve_cmds

    for module in (build_cmds, publish_cmds, model_cmds, qualify_cmds, catalog_cmds, serve_cmds):
        module.register(app)


_register_command_groups()
make_legible(app)
