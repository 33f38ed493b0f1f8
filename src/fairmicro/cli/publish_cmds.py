"""`fairmicro publish` commands (registered on the app by `register`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`; heavy imports stay inside the commands."""
