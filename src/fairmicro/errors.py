"""The one place fairmicro's exceptions live.

Every message names the input, what was expected and what to do next; the CLI
prints it as one line to stderr.
"""

from __future__ import annotations


def first_line(exc: BaseException, count: int = 1) -> str:
    """The first non-empty line(s) of an exception's message, joined into one line.

    Third-party errors often run to many lines; user-facing messages quote this.
    The exception's type name stands in for an empty message.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines[:count]) if lines else type(exc).__name__


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


class SandboxError(FairmicroError):
    """User SQL (a query or a ``--where``) tried to reach files, the network or extensions."""


class DatasetBuildError(FairmicroError):
    """A dataset could not be built from the catalog selection."""


class EmptyClassError(DatasetBuildError):
    """A split would leave a class without examples (see ``--allow-empty-class``)."""


class ModelError(FairmicroError):
    """A model plugin could not be found, configured, trained or loaded."""


class MissingExtraError(FairmicroError):
    """A command needs an optional dependency group that is not installed."""

    def __init__(self, module: str, extra: str, command: str) -> None:
        super().__init__(f"`{command}` needs the '{module}' package: install it with pip install 'fairmicro[{extra}]'")


class HubError(FairmicroError):
    """A Hugging Face Hub request failed (the message names the endpoint and the step)."""


class HubAuthError(HubError):
    """No Hugging Face token was found, or the Hub rejected it."""


class HubUnreachableError(HubError):
    """The Hub endpoint could not be reached (network error or timeout)."""


class HubConflictError(HubError):
    """The repository changed while publishing (409/412), or a tag already names another revision."""


class DatasetNotFoundError(FairmicroError):
    """A dataset reference named no Hub repo, local folder or catalog dataset."""
