"""A throw-away PostgreSQL cluster for tests and benchmarks of the shared (DuckLake) catalog.

PostgreSQL refuses to run as root: when this process is root the cluster is
created and run as the unprivileged user ``postgres`` (``runuser -u postgres``)
in a folder that user owns. The cluster listens on 127.0.0.1 only, on a free
port, with ``trust`` authentication, and is stopped and deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN_DIRS = tuple(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
RUN_AS = "postgres"


def pg_tool(name: str) -> str | None:
    """The path of PostgreSQL tool ``name`` (Debian's versioned folder first, then $PATH), or None."""
    for folder in PG_BIN_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def unavailable_reason() -> str | None:
    """Why a throw-away cluster cannot be started here (one line), or None when it can."""
    for tool in ("initdb", "pg_ctl"):
        if pg_tool(tool) is None:
            return f"PostgreSQL's {tool} not found (install Debian's postgresql package)"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and runuser is not available to start PostgreSQL as an unprivileged user"
        try:
            import pwd

            pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no unprivileged user {RUN_AS!r} to run PostgreSQL"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str]) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", RUN_AS, "--", *argv]
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {(result.stderr or result.stdout).strip()[-500:]}")


def _owned_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="fairmicro-pg-"))
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam(RUN_AS)
        os.chown(folder, user.pw_uid, user.pw_gid)
    folder.chmod(0o700)
    return folder


@contextlib.contextmanager
def throwaway_cluster(dbname: str = "fairmicro") -> Iterator[str]:
    """Start a PostgreSQL cluster on 127.0.0.1, create ``dbname``, yield its libpq DSN; stop and delete it.

    Raises
    ------
    RuntimeError
        When the cluster cannot be started (see :func:`unavailable_reason`).
    """
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    folder = _owned_folder()
    data, port = folder / "data", free_port()
    user = RUN_AS if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    try:
        _run([pg_tool("initdb") or "initdb", "-D", str(data), "-U", user, "-A", "trust", "--no-sync", "-E", "UTF8"])
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
        _run([pg_tool("pg_ctl") or "pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"])
        try:
            _run([pg_tool("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", user, dbname])
            yield f"dbname={dbname} host=127.0.0.1 port={port} user={user}"
        finally:
            _run([pg_tool("pg_ctl") or "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def create_database(dsn: str, dbname: str) -> str:
    """Create database ``dbname`` on the server of ``dsn``; return a DSN naming it."""
    parts = dict(part.split("=", 1) for part in dsn.split())
    argv = [pg_tool("createdb") or "createdb", "-h", parts.get("host", "127.0.0.1"), "-p", parts.get("port", "5432")]
    _run([*argv, "-U", parts.get("user", RUN_AS), dbname])
    return " ".join(f"{k}={v}" for k, v in {**parts, "dbname": dbname}.items())
