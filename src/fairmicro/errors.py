"""The one place fairmicro's exceptions live.

Every message names the input, what was expected and what to do next; the CLI
prints it as one line to stderr.
"""

from __future__ import annotations


class FairmicroError(Exception):
    """Base class of every error fairmicro raises on purpose."""


class UnreadableFileError(FairmicroError):
    """A file could not be opened or decoded as an image."""


class UnsupportedFileError(FairmicroError):
    """No registered extractor recognised a file."""


class ValidationError(FairmicroError):
    """A record did not validate against the schema."""


class SpecimenTableError(FairmicroError):
    """The specimen table could not be read or lacks a required column."""


class CatalogError(FairmicroError):
    """The catalog could not be opened, migrated or written."""


class ReadOnlyQueryError(FairmicroError):
    """A query tried to change the catalog without `--write`."""


class MissingExtraError(FairmicroError):
    """A command needs an optional dependency group that is not installed."""

    def __init__(self, module: str, extra: str, command: str) -> None:
        super().__init__(
            f"`{command}` needs the '{module}' package: install it with "
            f"pip install 'fairmicro[{extra}]'"
        )
