"""``fairmicro catalog copy``: move a catalog between a file and a shared DuckLake catalog.

No ``from __future__ import annotations`` here: typer evaluates the option annotations.
"""

import json
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` command group to ``app``."""
    from fairmicro.cli.commands import stdout
    from fairmicro.cli.options import CatalogOption, DataPathOption

    group = typer.Typer(help="Whole-catalog operations (copy between a file and a shared DuckLake catalog).")
    app.add_typer(group, name="catalog")

    @group.command("copy")
    def copy(
        to: Annotated[
            str,
            typer.Option("--to", help="New or empty target: FILE.duckdb or ducklake:postgres:... (with --data-path)."),
        ],
        json_output: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
        catalog: CatalogOption = None,
        data_path: DataPathOption = None,
    ) -> None:
        """Copy every table of --catalog into --to; row counts and content digests are compared and printed."""
        from fairmicro.catalog.connection import resolve_catalog_path
        from fairmicro.catalog.copy import copy_catalog
        from fairmicro.catalog.ducklake import is_lake
        from fairmicro.errors import CatalogError

        source = str(catalog) if catalog is not None and is_lake(str(catalog)) else str(resolve_catalog_path(catalog))
        compared = copy_catalog(source, to)
        if json_output:
            rows = [{**c.__dict__, "same": c.same} for c in compared]
            stdout.out(json.dumps(rows, ensure_ascii=False), highlight=False)
        else:
            for c in compared:
                verdict = "same" if c.same else "DIFFERENT"
                stdout.print(
                    f"{c.table:<22} rows {c.source_rows:>8} -> {c.target_rows:<8} "
                    f"digest {c.source_digest[:12]} -> {c.target_digest[:12]}  {verdict}",
                    highlight=False,
                    markup=False,
                )
        if not all(c.same for c in compared):
            raise CatalogError(f"{to}: copy differs from the source in {sum(not c.same for c in compared)} table(s)")
