"""``fairmicro`` command line: ingest, query, plugins."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from fairmicro.cli.options import CatalogOption, FormatOption, WaitOption
from fairmicro.errors import FairmicroError, first_line

app = typer.Typer(
    name="fairmicro",
    help="Turn microscope images into a FAIR, queryable catalog and ML datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}

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
    _announce_waits()
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _announce_waits() -> None:
    """A command that waits for a catalog another process holds says so once on stderr."""
    from fairmicro.catalog.connection import set_wait
    from fairmicro.catalog.walk import display

    set_wait(notify=lambda message: stderr.print(display(message), markup=False, highlight=False))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Image files and folders (searched recursively).")],
    catalog: CatalogOption = None,
    specimens: Annotated[
        Optional[Path], typer.Option(help="Specimen table (CSV, TSV or XLSX) with a specimen_id or file-name column.")
    ] = None,
    specimen_pattern: Annotated[
        Optional[str], typer.Option(help="Regex with a (?P<specimen_id>...) group, searched in each file name.")
    ] = None,
    label_from_folder: Annotated[bool, typer.Option(help="Use the parent folder name as the image label.")] = False,
    label_column: Annotated[Optional[str], typer.Option(help="Column of the specimen table holding the label.")] = None,
    column_map: Annotated[
        Optional[list[str]],
        typer.Option(
            "--map",
            metavar="SOURCE=SLOT",
            help="Map a specimen-table column to a schema slot, e.g. 'Anneal T [°C]=heat_treatment_temperature_c' "
            "(a unit in brackets is converted to the slot's unit). Repeatable.",
        ),
    ] = None,
    map_file: Annotated[
        Optional[Path], typer.Option(help="YAML file of 'SOURCE: slot' lines, like --map.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Treat every warning as a rejection; exit 1 on any problem.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Files per committed transaction.")] = 200,
    jobs: Annotated[
        int,
        typer.Option(
            min=0, help="Processes reading, hashing and extracting files in parallel (0: one per CPU core)."
        ),
    ] = 1,
    wait: WaitOption = None,
) -> None:
    """Extract, validate and catalogue images; incremental and content-hashed."""
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.ingest import IngestOptions, Ingestor
    from fairmicro.catalog.walk import collect_files
    from fairmicro.catalog.workers import Workers
    from fairmicro.cli.output import no_files_message, render_summary

    table = None
    if specimens or column_map or map_file:  # the specimen machinery (pydantic, units) only when asked for
        from fairmicro.catalog.specimens import load_specimen_table, parse_mapping

        mapping = parse_mapping(column_map or (), map_file)
        if mapping and not specimens:
            raise FairmicroError("--map/--map-file need --specimens (the table whose columns they map)")
        table = load_specimen_table(specimens, label_column, mapping) if specimens else None
    options = IngestOptions(
        specimens=table,
        specimen_pattern=_compile_pattern(specimen_pattern),
        label_from_folder=label_from_folder,
        strict=strict,
        batch_size=batch_size,
        jobs=jobs,
    )
    if label_column and not specimens:
        raise FairmicroError("--label-column needs --specimens (the table that holds the column)")
    if strict and options.specimens and options.specimens.warnings:
        raise FairmicroError(f"--strict: {options.specimens.warnings[0]}")
    found = collect_files(paths)
    if not found.files:
        raise FairmicroError(no_files_message(paths, found.skipped))
    workers = Workers(jobs)  # worker processes start when enough new files need reading
    with (
        contextlib.closing(workers),
        Catalog.open(catalog) as cat,
        _progress(len(found.files), quiet=json_output) as advance,
    ):
        ingestor = Ingestor(cat, options, workers=workers)
        summary = ingestor.run(found.files, on_file=lambda outcome: advance(), skipped=found.skipped)
    if json_output:
        stdout.out(json.dumps(summary.to_dict(), ensure_ascii=False), highlight=False)
    else:
        render_summary(summary, stdout)
    if summary.failed or (strict and (summary.rejected or summary.warnings)):
        raise typer.Exit(1)


def _compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise FairmicroError(f"--specimen-pattern {pattern!r} is not a valid regex ({exc})") from exc
    if "specimen_id" not in compiled.groupindex:
        raise FairmicroError(f"--specimen-pattern {pattern!r} needs a named group (?P<specimen_id>...)")
    return compiled


@contextlib.contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    if quiet or not stderr.is_terminal:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("ingest", total=total)
        yield lambda: bar.advance(task)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over image_metadata and the catalog tables (docs/catalog.md).")],
    catalog: CatalogOption = None,
    output_format: FormatOption = "table",
    write: Annotated[bool, typer.Option(help="Allow statements that change the catalog's tables.")] = False,
    unsafe: Annotated[
        bool, typer.Option(help="Lift the sandbox: let SQL read and write files, load extensions, change settings.")
    ] = False,
    wait: WaitOption = None,
) -> None:
    """Run SQL against the catalog (read-only and sandboxed unless --write / --unsafe)."""
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.query import run_query
    from fairmicro.cli.output import render_result

    if unsafe:
        stderr.print(
            "warning: --unsafe: this SQL runs unsandboxed and can read, write or overwrite any file you can",
            markup=False, highlight=False,
        )
    with Catalog.open(catalog, read_only=not write) as cat:
        result = run_query(cat, sql, write=write, unsafe=unsafe)
    render_result(result, output_format, stdout)


@app.command()
def plugins() -> None:
    """List registered extractors (in the order they are tried) and model plugins."""
    from fairmicro.extractors.registry import registered_extractors
    from fairmicro.models.registry import plugin_entry_points

    for extractor in registered_extractors():
        kind = type(extractor)
        stdout.print(
            f"extractor  {extractor.name:<10} priority {extractor.priority:>4}  "
            f"{kind.__module__}:{kind.__qualname__}  {extractor.version}",
            highlight=False,
        )
    for name, entry in sorted(plugin_entry_points().items()):
        stdout.print(f"model      {name:<10} {entry.value}", highlight=False)


def _register_command_groups() -> None:
    from fairmicro.cli import build_cmds, model_cmds, publish_cmds

    for module in (build_cmds, publish_cmds, model_cmds):
        module.register(app)


_register_command_groups()


def main() -> None:
    """Console-script entry: expected failures are one line on stderr, exit 1."""
    try:
        app()
    except FairmicroError as exc:
        if _state["debug"]:
            raise
        stderr.print(f"error: {first_line(exc, sys.maxsize)}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # a bug, not an expected failure: still one line, with a way to the traceback
        if _state["debug"]:
            raise
        stderr.print(
            f"error: internal error ({type(exc).__name__}: {first_line(exc)}); "
            "rerun with `fairmicro --debug ...` for the traceback and report it",
            markup=False, highlight=False,
        )
        sys.exit(1)
