"""Opening a regular file without ever blocking, and the read-ahead child that hashes files for ingest.

The standard library only: besides being imported, this file is run as a
script, ``python -I -S regular_files.py KEEP``, by
:class:`fairmicro.catalog.readahead.ReadAhead` (isolated, no site packages, so
it starts in milliseconds and a folder of the user's cannot shadow a module).

The child reads paths on stdin, NUL-separated (bytes, so any file name
passes), and writes one report per path to stdout: :data:`REPORT` (ok flag,
size, mtime_ns, sha256 digest, lengths of the first and last bytes kept),
then those bytes (the whole file when it is no longer than KEEP).
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import sys

TYPE_CHECKING = False  # not typing's: the child skips importing typing (12 ms of its start)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

REPORT = struct.Struct("<?qq32sII")
CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class NotRegularFileError(OSError):
    """The path is not a regular file (a FIFO, socket or device swapped in); it was not read."""


def open_regular(path: str | bytes | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path`` for reading, unbuffered, and its ``fstat``; checked to be a regular file before any read.

    Opened non-blocking, so a FIFO never hangs the caller.

    Raises
    ------
    OSError
        When the file cannot be opened; :class:`NotRegularFileError` when it is not a regular file.
    """
    fd = os.open(path, _OPEN_FLAGS)
    handle = open(fd, "rb", buffering=0, closefd=True)  # noqa: SIM115  # returned to the caller, who closes it
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{os.fsdecode(path)}: not a regular file")
    except BaseException:
        handle.close()
        raise
    return handle, info


def hash_keeping_ends(handle: BinaryIO, keep: int, buffer: memoryview) -> tuple[bytes, int, bytes, bytes]:
    """Read ``handle`` to its end through ``buffer``: sha256 digest, size, first and last ``keep`` bytes.

    The last bytes are empty when the file is no longer than ``keep`` (the first hold it all).
    """
    digest, size, head, tail = hashlib.sha256(), 0, b"", b""
    while count := handle.readinto(buffer):  # type: ignore[attr-defined]
        chunk = buffer[:count]
        digest.update(chunk)
        if len(head) < keep:
            head += chunk[: keep - len(head)]
        tail = (tail + chunk[-keep:])[-keep:]
        size += count
    return digest.digest(), size, head, tail if size > keep else b""


def report(path: bytes, keep: int, buffer: memoryview) -> bytes:
    """The child's report on one path: a failed one (all zero) when it cannot be read as a regular file."""
    try:
        handle, info = open_regular(path)
        with handle:
            digest, size, head, tail = hash_keeping_ends(handle, keep, buffer)
    except OSError:
        return REPORT.pack(False, 0, 0, b"", 0, 0)
    return REPORT.pack(True, size, info.st_mtime_ns, digest, len(head), len(tail)) + head + tail


def _names(stream: BinaryIO) -> Iterator[bytes]:
    """NUL-separated paths as they arrive: reading starts with the first path."""
    pending = b""
    while block := stream.read1(1 << 16):  # type: ignore[attr-defined]
        *done, pending = (pending + block).split(b"\0")
        yield from done


def serve(keep: int) -> None:
    """The child's loop: a report on stdout for each path on stdin, each flushed at once."""
    buffer = memoryview(bytearray(CHUNK))
    out = sys.stdout.buffer
    for path in _names(sys.stdin.buffer):
        out.write(report(path, keep, buffer))
        out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
