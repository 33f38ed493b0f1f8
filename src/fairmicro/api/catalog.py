"""``fairmicro.Catalog``: a catalog file as a notebook sees it (open, ingest, query).

The handle holds no connection between calls. Each verb opens the file for
as long as it runs, as the CLI commands do, so a ``fairmicro query`` in a
terminal, a nightly ingest or :func:`fairmicro.build` in the same notebook
gets its turn while the handle is open; and a sandboxed query never leaves
its locked-down connection behind for a later write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from fairmicro.api.ingest import PathLike, ingest_files, ingest_options, mask_options
from fairmicro.errors import CatalogError

if TYPE_CHECKING:
    from fairmicro.api.ingest import IngestReport
    from fairmicro.api.labelling import ReviewDecision
    from fairmicro.catalog.ingest import FileOutcome
    from fairmicro.catalog.store import QueryResult

log = logging.getLogger(__name__)
UNSAFE_WARNING = "unsafe=True: this SQL runs unsandboxed and can read, write or overwrite any file you can"


class Catalog:
    """A fairmicro catalog (one DuckDB file): ingest microscope images, query their metadata.

    Open with :meth:`open`, preferably as a context manager::

        with fm.Catalog.open("lab.duckdb") as cat:
            report = cat.ingest("images/", specimens="specimens.csv")
            frame = cat.query("SELECT * FROM image_metadata").df()

    Attributes
    ----------
    path
        The catalog file.
    read_only
        Whether :meth:`ingest` and ``query(..., write=True)`` are refused.
    """

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.closed = False

    @classmethod
    def open(cls, path: PathLike | None = None, *, read_only: bool = False) -> Catalog:
        """Open the catalog at ``path``, creating and upgrading it unless ``read_only``.

        Parameters
        ----------
        path
            The catalog file; None: ``$FAIRMICRO_CATALOG``, else ``./fairmicro.duckdb``.
        read_only
            Refuse every write; the file must exist then.

        Returns
        -------
        Catalog
            A handle; use it as a context manager or call :meth:`close`.

        Raises
        ------
        CatalogError
            When ``path`` is not a DuckDB file (a CSV, a folder, ...), is a DuckDB database that
            is not a fairmicro catalog (both are left unchanged), is missing with ``read_only``,
            or is held by another process longer than ``$FAIRMICRO_WAIT`` seconds (default 30).
        """
        from fairmicro.catalog.connection import resolve_catalog_path
        from fairmicro.catalog.store import Catalog as Store

        resolved = resolve_catalog_path(None if path is None else Path(path))
        if str(resolved) in ("", ":memory:"):
            raise CatalogError(f"{str(resolved)!r}: fairmicro.Catalog needs a catalog file path")
        if read_only:
            Store.open(resolved, read_only=True).close()
        elif resolved.exists():
            Store.open_for_reading(resolved).close()  # upgrades an old catalog in one short write
        else:
            Store.open(resolved).close()
        return cls(resolved, read_only)

    # ------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Mark the handle closed (it holds no connection between calls); later calls are refused."""
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "read-only" if self.read_only else "read-write"
        from fairmicro.catalog.ducklake import shown_location  # a DSN's password= is never shown

        return f"<fairmicro.Catalog {shown_location(str(self.path))!r} ({state})>"

    def __fspath__(self) -> str:
        return str(self.path)

    def _usable(self, writing: bool) -> None:
        if self.closed:
            raise CatalogError(f"{self.path}: this fairmicro.Catalog is closed; open it again")
        if writing and self.read_only:
            raise CatalogError(f"{self.path}: opened read_only=True; open it without read_only to write")

    # ----------------------------------------------------------------- verbs
    def ingest(
        self,
        paths: PathLike | Iterable[PathLike],
        *,
        specimens: PathLike | None = None,
        specimen_pattern: str | re.Pattern[str] | None = None,
        label_from_folder: bool = False,
        label_column: str | None = None,
        column_map: Mapping[str, str] | Sequence[str] | None = None,
        map_file: PathLike | None = None,
        masks: PathLike | None = None,
        mask_pattern: str | None = None,
        mask_classes: str | Sequence[str] | None = None,
        mask_colors: str | Mapping[str, str] | None = None,
        strict: bool = False,
        jobs: int = 1,
        batch_size: int = 200,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> IngestReport:
        """Ingest image files and folders (recursively), as ``fairmicro ingest`` does.

        Parameters
        ----------
        paths
            One path or several: image files, or folders searched for them.
        specimens
            Specimen table (CSV, TSV or XLSX) joined to the images.
        specimen_pattern
            Regex with a ``(?P<specimen_id>...)`` group, matched against file names.
        label_from_folder
            Label each image with the name of its folder.
        label_column
            The specimen-table column holding the label.
        column_map
            Table header -> schema slot (``{"Anneal T [°C]": "heat_treatment_temperature_c"}``
            or ``["Anneal T [°C]=heat_treatment_temperature_c"]``).
        map_file
            YAML file of ``header: slot`` lines.
        masks
            Folder of segmentation masks named like their images.
        mask_pattern
            Mask file name with ``{stem}`` standing for the image's stem; without ``masks``, the
            masks are searched among the image files found in ``paths``.
        mask_classes
            Names of the label-map values 0, 1, 2, ... (``"background,oxide"`` or a list).
        mask_colors
            Colour maps: ``{"oxide": "#ff0000"}`` or ``"oxide=#ff0000"``.
        strict
            Make rejected files and warnings failures (``report.ok`` False) and stop on specimen-table warnings.
        jobs
            Processes hashing and reading files (0: one per core).
        batch_size
            Files written per transaction.
        on_file
            Called with each file's outcome (for a progress bar).

        Returns
        -------
        IngestReport
            Counts, rejected and skipped files with reasons, warnings, mask pairing; ``report.ok``.

        Raises
        ------
        FairmicroError
            One line for a bad option or specimen table (before anything is written), or inputs
            without any image file.
        """
        self._usable(writing=True)
        options = ingest_options(
            specimens,
            specimen_pattern,
            label_from_folder,
            label_column,
            column_map,
            map_file,
            strict,
            batch_size,
            jobs,
        )
        pairing = mask_options(masks, mask_pattern, mask_classes, mask_colors)
        return ingest_files(self.path, paths, options, pairing, on_file=on_file)

    def query(
        self,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        write: bool = False,
        unsafe: bool = False,
    ) -> QueryResult:
        """Run SQL on the catalog, read-only and sandboxed exactly like ``fairmicro query``.

        Parameters
        ----------
        sql
            One or more statements; the result of the last is returned. ``image_metadata`` is the
            documented view (docs/catalog.md).
        params
            Values for ``?`` placeholders (a sequence) or ``$name`` ones (a mapping); one statement then.
        write
            Allow statements that change the catalog's tables (INSERT, UPDATE, ...).
        unsafe
            Lift the sandbox: the SQL may read and write any file, load extensions, change settings.

        Returns
        -------
        QueryResult
            ``.columns``, ``.rows`` (iterate it), ``.df()`` (pandas), ``.arrow()``, ``.pl()`` (polars).

        Raises
        ------
        ReadOnlyQueryError
            For a write without ``write``, or a statement reaching files or settings (``COPY ... TO``,
            ``ATTACH``, ``INSTALL``, ``SET``) without ``unsafe``; nothing runs then.
        SandboxError
            When the engine refused to reach a file, the network or an extension (``read_csv``).
        FairmicroError
            When the SQL does not parse or fails.
        """
        self._usable(writing=write)
        if unsafe:
            log.warning(UNSAFE_WARNING)
        return query_catalog(self.path, sql, params, write=write, unsafe=unsafe)

    def runs(self) -> QueryResult:
        """Every model run recorded in this catalog, with its task and main metric (``fairmicro runs``)."""
        from fairmicro.models.provenance import list_runs

        self._usable(writing=False)
        return list_runs(self.path)

    def reviews(self) -> QueryResult:
        """The suggestions waiting for review, least confident first (``fairmicro review``)."""
        from fairmicro.api.labelling import reviews

        self._usable(writing=False)
        return reviews(self.path)

    def review(
        self, image: str, label: str | None = None, *, accept: bool = False, new_label: bool = False
    ) -> ReviewDecision:
        """Confirm (``accept=True``) or correct an image's label; see :func:`fairmicro.review`."""
        from fairmicro.api.labelling import review

        self._usable(writing=True)
        return review(image, label, accept=accept, new_label=new_label, catalog=self.path)


def catalog_path(catalog: Catalog | PathLike | None) -> Path | None:
    """The file behind a :class:`Catalog`, a path, or None (the default catalog)."""
    if isinstance(catalog, Catalog):
        catalog._usable(writing=False)
        return catalog.path
    return None if catalog is None else Path(catalog)


def query_catalog(
    path: PathLike | None,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    write: bool = False,
    unsafe: bool = False,
) -> QueryResult:
    """Open the catalog file for one query (read-only unless ``write``) and run it sandboxed.

    The body of :meth:`Catalog.query` and of ``fairmicro query``; see :meth:`Catalog.query`.
    """
    from fairmicro.catalog.query import run_query
    from fairmicro.catalog.store import Catalog as Store

    if not isinstance(sql, str):
        raise CatalogError(f"query: expected SQL text, got {type(sql).__name__}")
    with Store.open(None if path is None else Path(path), read_only=not write) as store:
        return run_query(store, sql, write=write, unsafe=unsafe, params=params)
