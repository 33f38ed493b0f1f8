"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        envvar="FAIRMICRO_CATALOG",
        help="Catalog file (default ./fairmicro.duckdb), or a shared catalog "
        "'ducklake:postgres:dbname=... host=... user=...' with --data-path DIR ($FAIRMICRO_DATA_PATH).",
        show_default=False,
    ),
]


def _set_data_path(value: str | None) -> str | None:
    if value:
        from fairmicro.catalog.ducklake import set_data_path

        set_data_path(value)
    return value


DataPathOption = Annotated[
    str | None,
    typer.Option(
        "--data-path",
        envvar="FAIRMICRO_DATA_PATH",
        callback=_set_data_path,
        metavar="DIR",
        help="Shared catalog (--catalog ducklake:...): the folder (or s3:// URL) of its data files, "
        "stored when the catalog is created. Not used by a catalog file.",
        show_default=False,
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


def _set_wait(value: float | None) -> float | None:
    if value is not None:
        from fairmicro.catalog.connection import set_wait

        set_wait(value)
    return value


WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        envvar="FAIRMICRO_WAIT",
        min=0,
        callback=_set_wait,
        metavar="SECONDS",
        help="While another process holds the catalog, wait up to this long (default 30).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else (no progress).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", help="No progress display on stderr.")]
