"""``fairmicro serve``: the local web catalog (browse, query, review, datasets, runs, qualification)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fairmicro.cli.options import CatalogOption, DataPathOption, JsonOption
from fairmicro.cli.output import write_json
from fairmicro.errors import CatalogError


def serve(
    catalog: CatalogOption = None,
    data_path: DataPathOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on. Anything but a loopback address needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FAIRMICRO_TOKEN",
            show_default=False,
            help="Secret every write must carry (open /?token=T once in the browser); needed beyond 127.0.0.1.",
        ),
    ] = None,
    clip: Annotated[
        str, typer.Option(help="Qualification page's CLIP model: Hub id[@revision] or local folder.")
    ] = "openai/clip-vit-base-patch32",
    flava: Annotated[
        str, typer.Option(help="Qualification page's FLAVA model: Hub id[@revision] or local folder.")
    ] = "facebook/flava-full",
    assessments: Annotated[
        list[Path] | None,
        typer.Option(help="Assessment YAML file the qualification page offers besides the built-in sets. Repeatable."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Serve the catalog as a local web site: browse, query, review, datasets, runs, qualify."""
    from fairmicro.catalog.connection import resolve_catalog_path
    from fairmicro.extras import require
    from fairmicro.web.safety import check_binding

    check_binding(host, token)
    path = resolve_catalog_path(catalog)
    if not Path(path).is_file():
        raise CatalogError(f"{path}: no catalog file here; run `fairmicro ingest FOLDER --catalog {path}` first")
    uvicorn = require("uvicorn", "web", "fairmicro serve")
    require("starlette", "web", "fairmicro serve")
    require("jinja2", "web", "fairmicro serve")
    from fairmicro.catalog import Catalog
    from fairmicro.web.app import create_app

    Catalog.open_for_reading(path).close()  # refuses a file that is not a catalog before listening
    sets = {}
    for file in assessments or []:
        if not file.is_file():
            raise CatalogError(f"--assessments {file}: no such file")
        sets[file.stem] = str(file.resolve())
    app = create_app(path, token=token, host=host, clip=clip, flava=flava, assessments=sets)
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(
        f"fairmicro serve: {path} on http://{shown}:{port}/" + ("?token=..." if token else "") + "  (Ctrl+C stops)\n"
    )
    if json_output:  # for scripts starting the server: where it listens, as one JSON line before it serves
        write_json({"url": f"http://{shown}:{port}/", "catalog": str(path), "token_required": token is not None})
        sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command()(serve)
