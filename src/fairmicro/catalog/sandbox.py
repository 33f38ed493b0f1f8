"""Confine a catalog connection before it runs SQL a user wrote.

``fairmicro query`` and the ``--where`` of ``build``/``predict`` run the user's
own SQL. DuckDB can read and write any file the user can (``read_csv``,
``read_blob``, ``glob``, ``COPY ... TO``, ``ATTACH``, ``EXPORT DATABASE``),
install and load extensions from the network, and change its own settings.
:func:`sandbox` closes these routes in the engine itself, following DuckDB's
"Securing DuckDB" guide: extension autoinstall/autoload and community
extensions off, persistent secrets off, external access off, and the
configuration locked so no later ``SET``/``PRAGMA``/``RESET`` undoes any of it.

With external access off DuckDB still lets SQL reach the database's own files
(the catalog, its ``.wal`` and its temp folder: it adds them to
``allowed_paths``/``allowed_directories`` itself, and they can no longer be
removed). On a read-only connection the local file system is therefore
disabled altogether: the open catalog keeps working through the handle it
already holds, and no statement can open, read or overwrite any file, the
catalog included. A writable connection needs the file system for its WAL, so
there the catalog's own files stay reachable and the statement check of
:mod:`fairmicro.catalog.query` (which refuses ``COPY``/``EXPORT``) is the
second layer.

On a shared (DuckLake) catalog the data files live under the lake's data
path, which the engine must keep reading: that folder alone is allowed before
external access is switched off, and the connection refuses statements that
reach the lake's PostgreSQL metadata database or the postgres scanner's
pass-through functions (:class:`fairmicro.catalog.ducklake.LakeConnection`).
"""

from __future__ import annotations

import duckdb

from fairmicro.errors import CatalogError, first_line

# Order matters: settings first, then external access off, then the lock.
_SETTINGS = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET allow_unsigned_extensions = false",
    "SET allow_persistent_secrets = false",
    "SET allow_unredacted_secrets = false",
    "SET enable_external_access = false",
)
_NO_FILES = "SET disabled_filesystems = 'LocalFileSystem'"
_LOCK = "SET lock_configuration = true"


def is_sandboxed(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s database already runs with external access off and its configuration locked."""
    external, locked = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchone()  # type: ignore[misc]
    return not external and bool(locked)


def sandbox(con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
    """Confine ``con`` (and every cursor of its database) for untrusted SQL; idempotent.

    Parameters
    ----------
    con
        A freshly opened catalog connection. The settings are global to its
        database instance and cannot be undone while it stays open.
    read_only
        Whether the catalog was opened read-only; then the local file system
        is disabled too, so not even the catalog's own files can be opened.

    Raises
    ------
    CatalogError
        If the configuration was locked by someone else before it was confined.
    """
    lake = hasattr(con, "sandboxed")  # a LakeConnection
    if lake:
        con.sandboxed = True  # type: ignore[attr-defined]
    if is_sandboxed(con):
        return
    statements = (*_SETTINGS, *((_NO_FILES,) if read_only and not lake else ()), _LOCK)
    if lake:
        allowed = con.data_path()  # type: ignore[attr-defined]
        # ATTACH has used the secret manager, which then refuses changes to its settings; with external
        # access off (only the data path allowed) no secret can be written to disk anyway.
        statements = tuple(s for s in statements if "persistent_secrets" not in s)
        statements = (f"SET allowed_directories = ['{allowed.replace(chr(39), chr(39) * 2)}']", *statements)
    try:
        for statement in statements:
            con.execute(statement)
    except duckdb.Error as exc:
        raise CatalogError(f"cannot confine the catalog connection for user SQL ({first_line(exc)})") from exc
