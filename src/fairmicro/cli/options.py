"""Options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

CatalogOption = Annotated[
    Optional[Path],
    typer.Option(
        "--catalog",
        envvar="FAIRMICRO_CATALOG",
        help="Catalog file (default ./fairmicro.duckdb).",
        show_default=False,
    ),
]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
