"""The bodies of the lean core commands (``ingest``, ``query``, ``plugins``), free of typer and rich.

The typer app (:mod:`fairmicro.cli.commands`) and the argument fast path of
:func:`fairmicro.cli.app.main` both call these functions, so a command behaves
the same whichever way its arguments were parsed. Output is written with
plain ``write`` calls; rich is imported only for a progress bar or a table on
a terminal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from fairmicro.cli.output import is_terminal
from fairmicro.errors import FairmicroError


def configure(debug: bool) -> None:
    """What the root command sets up for every command: logging, and the catalog wait notice."""
    from fairmicro.catalog.connection import set_wait

    set_wait(notify=_notify_wait)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # tifffile logs its own complaint about a broken file that ingest already reports in one line
    # (rejected: FILE: cause); show it only with --debug.
    logging.getLogger("tifffile").setLevel(logging.DEBUG if debug else logging.CRITICAL)


def _notify_wait(message: str) -> None:
    """A command that waits for a catalog another process holds says so once on stderr."""
    from fairmicro.catalog.walk import display

    print_err(display(message))


def print_err(line: str) -> None:
    """One line on stderr, written as it is (no markup, no wrapping)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def ingest_command(
    paths: Sequence[Path],
    catalog: Path | None = None,
    specimens: Path | None = None,
    specimen_pattern: str | None = None,
    label_from_folder: bool = False,
    label_column: str | None = None,
    column_map: Sequence[str] | None = None,
    map_file: Path | None = None,
    strict: bool = False,
    json_output: bool = False,
    batch_size: int = 200,
    jobs: int = 1,
    masks: Path | None = None,
    mask_pattern: str | None = None,
    mask_classes: str | None = None,
    mask_colors: str | None = None,
    quiet: bool = False,
) -> int:
    """Run ``fairmicro ingest``; returns the exit code (1: nothing ingested, a mask rejected, or ``--strict`` and a problem)."""
    from fairmicro.api.ingest import ingest_files, ingest_options, mask_options

    options = ingest_options(
        specimens, specimen_pattern, label_from_folder, label_column, column_map, map_file, strict, batch_size, jobs
    )
    masks_wanted = mask_options(masks, mask_pattern, mask_classes, mask_colors)
    report = ingest_files(
        catalog, paths, options, masks_wanted, progress=lambda total: _progress(total, quiet=json_output or quiet)
    )
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in report.lines()))
    return 0 if report.ok else 1


@contextlib.contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; a no-op otherwise."""
    if quiet or not is_terminal(sys.stderr):
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True, soft_wrap=True), transient=True) as bar:
        task = bar.add_task("ingest", total=total)
        yield lambda: bar.advance(task)


def query_command(
    sql: str,
    catalog: Path | None = None,
    output_format: str = "table",
    write: bool = False,
    unsafe: bool = False,
    json_output: bool = False,
) -> int:
    """Run ``fairmicro query``: SQL against the catalog, read-only and sandboxed unless asked otherwise."""
    from fairmicro.api.catalog import query_catalog
    from fairmicro.cli.output import FORMATS, render_result

    output_format = "json" if json_output else output_format
    if output_format not in FORMATS:  # before opening (and possibly waiting for) the catalog
        raise FairmicroError(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
    if unsafe:
        print_err("warning: --unsafe: this SQL runs unsandboxed and can read, write or overwrite any file you can")
    result = query_catalog(catalog, sql, write=write, unsafe=unsafe)
    render_result(result, output_format)
    return 0


def plugins_command(json_output: bool = False) -> int:
    """Run ``fairmicro plugins``: extractors in the order they are tried, then model plugins."""
    from fairmicro.api.plugins import plugins

    found = plugins()
    if json_output:
        from fairmicro.cli.output import write_json

        write_json(found.to_dict())
    else:
        sys.stdout.write("".join(line + "\n" for line in found.lines()))
    return 0
