"""The one seam through which every catalog access goes.

A catalog is one DuckDB file, or a shared multi-writer lab catalog
(``ducklake:postgres:...``, see :mod:`fairmicro.catalog.ducklake`): callers
only ever receive a DB-API style DuckDB connection from :func:`connect`.

A DuckDB file is held by one writing process, or by any number of reading
processes, at a time. :func:`connect` waits (bounded by the wait policy,
``--wait`` / ``$FAIRMICRO_WAIT``, 30 s by default) while another process holds
the file, saying once that it waits, instead of failing at once. Before
connecting it checks that an existing file is a DuckDB database, so a CSV,
Parquet or SQLite file named by mistake is refused and left untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fairmicro.errors import CatalogError, first_line
from fairmicro.files import NotARegularFileError, read_head

if TYPE_CHECKING:  # imported on first connect: an ingest starts reading files while DuckDB loads
    import duckdb

ENV_VAR = "FAIRMICRO_CATALOG"
WAIT_ENV_VAR = "FAIRMICRO_WAIT"
DEFAULT_PATH = Path("fairmicro.duckdb")
DEFAULT_WAIT_S = 30.0
MAGIC = b"DUCK"
MAGIC_OFFSET = 8
POLL_S = (0.01, 0.05)  # a waiting process retries at random intervals in this range

log = logging.getLogger(__name__)

_KNOWN_HEADERS = (
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
    (b"PK\x03\x04", "a ZIP/XLSX file"),
    (b"\x89HDF", "an HDF5 file"),
)


def _log_wait(message: str) -> None:
    log.warning("%s", message)


@dataclass
class WaitPolicy:
    """How long :func:`connect` waits for a catalog another process holds, and whom it tells."""

    seconds: float | None = None  # None: $FAIRMICRO_WAIT, else DEFAULT_WAIT_S
    notify: Callable[[str], None] = field(default=_log_wait)

    def timeout(self) -> float:
        """The wait in seconds."""
        if self.seconds is not None:
            return self.seconds
        raw = os.environ.get(WAIT_ENV_VAR)
        try:
            return max(0.0, float(raw)) if raw else DEFAULT_WAIT_S
        except ValueError as exc:
            raise CatalogError(f"${WAIT_ENV_VAR}={raw!r}: expected a number of seconds") from exc


WAIT = WaitPolicy()


def set_wait(seconds: float | None = None, notify: Callable[[str], None] | None = None) -> None:
    """Set this process's wait policy (the CLI's ``--wait`` and its stderr notice)."""
    if seconds is not None:
        if seconds < 0:
            raise CatalogError(f"--wait {seconds:g}: expected 0 or more seconds")
        WAIT.seconds = seconds
    if notify is not None:
        WAIT.notify = notify


def resolve_catalog_path(explicit: str | Path | None = None) -> Path:
    """``--catalog`` if given, else ``$FAIRMICRO_CATALOG``, else ``./fairmicro.duckdb``."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH


def connect(path: Path, *, read_only: bool, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the catalog; read-only opens require the file to exist.

    Parameters
    ----------
    wait
        Seconds to wait while another process holds the file (default: the
        process's :class:`WaitPolicy`).

    Raises
    ------
    CatalogError
        If the file is missing (read-only), is not a DuckDB database, or is
        still held by another process when the wait is over.
    """
    if str(path).startswith("ducklake:"):
        from fairmicro.catalog.ducklake import connect_lake

        return connect_lake(str(path), read_only=read_only)  # type: ignore[return-value]  # quacks the same
    import duckdb

    _check_path(path, read_only)
    timeout = WAIT.timeout() if wait is None else wait
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        check_catalog_file(path)
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            holder = _lock_holder(exc)
            if holder is None and not _being_created(path, exc):
                raise _open_error(path, exc) from exc
            if time.monotonic() >= deadline:
                raise CatalogError(
                    f"{path}: still in use by another process ({holder or 'being created'}) after waiting "
                    f"{timeout:g} s; try again later or wait longer with --wait SECONDS"
                ) from exc
            if not announced:
                WAIT.notify(
                    f"waiting up to {timeout:g} s: {path} is in use by another process ({holder or 'being created'})"
                )
                announced = True
            _mark_waiting(path)
            time.sleep(min(random.uniform(*POLL_S), max(0.0, deadline - time.monotonic())))


def waiting_marker(path: Path) -> Path:
    """The file a waiting process touches, so that a long ingest knows to let it in."""
    return path.with_name(path.name + ".wait")


def _mark_waiting(path: Path) -> None:
    with contextlib.suppress(OSError):
        waiting_marker(path).touch()


def others_waiting(path: Path, within_s: float = 1.0) -> bool:
    """Whether another process waited for ``path`` in the last ``within_s`` seconds."""
    try:
        return time.time() - waiting_marker(path).stat().st_mtime < within_s
    except OSError:
        return False


def _check_path(path: Path, read_only: bool) -> None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CatalogError(f"{path!r}: catalog path is not valid UTF-8; choose another --catalog") from exc
    if read_only and not path.exists():
        raise CatalogError(f"{path}: no catalog here; run `fairmicro ingest` first or pass --catalog / ${ENV_VAR}")
    if not read_only and path.parent and not path.parent.exists():
        raise CatalogError(f"{path}: folder {path.parent} does not exist")


def check_catalog_file(path: Path) -> None:
    """Refuse an existing ``path`` that is not a DuckDB database, before anything opens it for writing.

    Reads 12 bytes of a regular file (never opens a FIFO or device); a file this
    process already has open is trusted (closing a second descriptor would drop
    DuckDB's POSIX lock on it).
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CatalogError(f"{path}: cannot examine the catalog file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise CatalogError(f"{path}: is a folder, not a catalog file; pass --catalog FILE.duckdb")
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError(f"{path}: not a regular file, not a catalog; pass --catalog FILE.duckdb")
    if info.st_size == 0 or _open_in_this_process(path):
        return  # empty: DuckDB refuses it itself, or another process is creating it right now
    head = _read_head(path, 16)
    if head[MAGIC_OFFSET : MAGIC_OFFSET + len(MAGIC)] != MAGIC:
        raise CatalogError(
            f"{path}: not a DuckDB catalog ({_describe(head)}); it was left unchanged. "
            "Pass --catalog a fairmicro .duckdb file, or a path that does not exist yet"
        )


def _read_head(path: Path, size: int) -> bytes:
    try:
        return read_head(path, size)
    except NotARegularFileError as exc:
        raise CatalogError(f"{path}: not a regular file, not a catalog; pass --catalog FILE.duckdb") from exc
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog file ({exc.strerror or exc})") from exc


def _describe(head: bytes) -> str:
    for magic, name in _KNOWN_HEADERS:
        if head.startswith(magic):
            return f"it is {name}"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "it is a text file"
    return "no DuckDB header"


def _open_in_this_process(path: Path) -> bool:
    """Whether this process has ``path`` open already (Linux /proc; False elsewhere)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return False
    target = os.path.realpath(path)
    for fd in os.listdir(fds):
        try:
            if os.readlink(fds / fd) == target:
                return True
        except OSError:
            continue
    return False


_LOCK_RE = re.compile(r"Could not set lock on file")
_PID_RE = re.compile(r"\(PID (\d+)\)")


def _lock_holder(exc: duckdb.Error) -> str | None:
    """'PID n' for DuckDB's lock conflict error, 'another process' when it names none; else None."""
    text = str(exc)
    if not _LOCK_RE.search(text):
        return None
    match = _PID_RE.search(text)
    return f"PID {match.group(1)}" if match else "another process"


def _open_error(path: Path, exc: duckdb.Error) -> CatalogError:
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            return CatalogError(
                f"{path}: empty file, not a DuckDB catalog; it was left unchanged. "
                "Delete it, or pass --catalog a fairmicro .duckdb file"
            )
    return CatalogError(f"{path}: cannot open catalog ({first_line(exc)})")


def _being_created(path: Path, exc: duckdb.Error) -> bool:
    """DuckDB saw a file another process had created but not yet initialised."""
    if "not a valid DuckDB database" not in str(exc):
        return False
    time.sleep(POLL_S[1])
    try:
        return path.stat().st_size > 0
    except OSError:
        return False
