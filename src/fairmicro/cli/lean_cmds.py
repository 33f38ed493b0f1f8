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
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

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
) -> int:
    """Run ``fairmicro ingest``; returns the exit code (1: nothing ingested, a mask rejected, or ``--strict`` and a problem)."""
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
    mask_options = _mask_options(masks, mask_pattern, mask_classes, mask_colors)
    found = collect_files(paths)
    mask_files: list[Path] = []
    if mask_options is not None:
        from fairmicro.catalog.mask_pairing import split_files

        found, mask_files = split_files(found, paths, mask_options)
    if not found.files:
        raise FairmicroError(no_files_message(paths, found.skipped))
    seen: list[tuple[Path, str]] = []  # (path, sha256) of every image this ingest has in the catalog
    workers = Workers(jobs)  # worker processes start when enough new files need reading
    with (
        contextlib.closing(workers),
        Catalog.open(catalog) as cat,
        _progress(len(found.files), quiet=json_output) as advance,
    ):
        ingestor = Ingestor(cat, options, workers=workers)
        summary = ingestor.run(found.files, on_file=lambda outcome: _seen(outcome, seen, advance), skipped=found.skipped)
        masked = _pair_masks(cat, seen, mask_files, mask_options)
    if json_output:
        extra = {"masks": masked.to_dict()} if masked else {}
        sys.stdout.write(json.dumps({**summary.to_dict(), **extra}, ensure_ascii=False) + "\n")
    else:
        render_summary(summary)
        sys.stdout.write("".join(line + "\n" for line in masked.lines()) if masked else "")
    mask_failed = bool(masked and (masked.rejected or (strict and masked.orphans)))
    return 1 if summary.failed or mask_failed or (strict and (summary.rejected or summary.warnings)) else 0


def _seen(outcome: Any, seen: list[tuple[Path, str]], advance: Callable[[], None]) -> None:
    """Progress, and the images a mask may pair with (ingested now or already present)."""
    advance()
    if outcome.sha256 and outcome.status in ("ingested", "present"):
        seen.append((outcome.path, outcome.sha256))


def _mask_options(
    masks: Path | None, pattern: str | None, classes: str | None, colors: str | None
) -> Any:
    """The ``--masks`` settings (checked before anything is ingested), or None without ``--masks``."""
    if masks is None:
        if pattern or classes or colors:
            raise FairmicroError("--mask-pattern, --mask-classes and --mask-colors need --masks DIR")
        return None
    from fairmicro.catalog.mask_pairing import MaskOptions
    from fairmicro.catalog.masks import parse_mask_classes, parse_mask_colors

    if classes and colors:
        raise FairmicroError("give either --mask-classes (label maps) or --mask-colors (colour maps), not both")
    class_map = parse_mask_classes(classes) if classes else parse_mask_colors(colors) if colors else None
    return MaskOptions(masks, pattern, class_map)


def _pair_masks(cat: Any, seen: list[tuple[Path, str]], mask_files: list[Path], options: Any) -> Any:
    if options is None:
        return None
    from fairmicro.catalog.mask_pairing import ingest_masks

    return ingest_masks(cat, seen, mask_files, options)


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
) -> int:
    """Run ``fairmicro query``: SQL against the catalog, read-only and sandboxed unless asked otherwise."""
    from fairmicro.catalog import Catalog
    from fairmicro.catalog.query import run_query
    from fairmicro.cli.output import FORMATS, render_result

    if output_format not in FORMATS:  # before opening (and possibly waiting for) the catalog
        raise FairmicroError(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
    if unsafe:
        print_err("warning: --unsafe: this SQL runs unsandboxed and can read, write or overwrite any file you can")
    with Catalog.open(catalog, read_only=not write) as cat:
        result = run_query(cat, sql, write=write, unsafe=unsafe)
    render_result(result, output_format)
    return 0


def plugins_command() -> int:
    """Run ``fairmicro plugins``: extractors in the order they are tried, then model plugins."""
    from fairmicro.extractors.registry import registered_extractors
    from fairmicro.models.registry import describe_plugins

    lines = []
    for extractor in registered_extractors():
        kind = type(extractor)
        lines.append(
            f"extractor  {extractor.name:<10} priority {extractor.priority:>4}  "
            f"{kind.__module__}:{kind.__qualname__}  {extractor.version}"
        )
    lines.extend(describe_plugins())  # each model plugin's task and parameters
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0
