"""Reading the first bytes of a file without ever blocking on it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotARegularFileError(OSError):
    """The path is a FIFO, socket, device or folder: it is not opened for reading."""


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file.

    The file is opened non-blocking and checked on the open descriptor, so a
    FIFO swapped in after an earlier ``stat`` is refused, never waited on.

    Raises
    ------
    NotARegularFileError
        If ``path`` is not a regular file.
    OSError
        If it cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFileError(f"{path}: not a regular file")
        return os.read(fd, size)
    finally:
        os.close(fd)
