"""``fairmicro runs`` and ``fairmicro review``: the recorded runs, and the suggestions waiting for a person."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fairmicro.cli.options import CatalogOption, DataPathOption, FormatOption, JsonOption, WaitOption
from fairmicro.cli.output import write_json


def runs(
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    output_format: FormatOption = "table",
    json_output: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """List model runs with their task and main metric."""
    from fairmicro.api.runs import runs as list_runs
    from fairmicro.cli.output import render_result

    render_result(list_runs(catalog), "json" if json_output else output_format)


def review(
    image: Annotated[str | None, typer.Argument(help="sha256 (prefix) of the image to decide on.")] = None,
    accept: Annotated[bool, typer.Option("--accept", help="Confirm the model's suggestion.")] = False,
    label: Annotated[str | None, typer.Option(help="The correct label (one the catalog or model knows).")] = None,
    new_label: Annotated[
        bool, typer.Option("--new-label", help="Allow a label no image has yet (a new class).")
    ] = False,
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    wait: WaitOption = None,
    json_output: JsonOption = False,
) -> None:
    """List suggestions waiting for review, or confirm/correct one (stored as a manual label)."""
    from fairmicro.api.labelling import review as decide
    from fairmicro.api.labelling import reviews
    from fairmicro.cli.output import render_result

    if image is None:
        render_result(reviews(catalog), "json" if json_output else "table")
        return
    decision = decide(image, label, accept=accept, new_label=new_label, catalog=catalog)
    if json_output:
        write_json(decision.to_dict())
    else:
        sys.stdout.write(f"{decision.sha256[:12]}: manual label {decision.label!r}\n")
