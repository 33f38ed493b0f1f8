"""File hashing shared by ingest, builds and model artifacts."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
KEEP_LIMIT = 64 << 20  # files up to this size are hashed and kept in memory, so they are read once


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ReadFile:
    """A regular file's sha256 and size, and its bytes when it was small enough to keep."""

    sha256: str
    size: int
    data: bytes | None


class NotRegularFileError(OSError):
    """The path is not a regular file (a FIFO, socket or device swapped in); it was not read."""


def read_and_hash(path: Path, keep_limit: int = KEEP_LIMIT) -> ReadFile:
    """Read ``path`` once: its sha256, and its bytes when it holds at most ``keep_limit`` bytes.

    The file is opened non-blocking and checked to be a regular file before
    any read, so a FIFO never hangs the caller. A larger file is hashed in
    chunks and not kept (memory stays bounded).

    Raises
    ------
    OSError
        When the file cannot be opened or read; :class:`NotRegularFileError`
        when it is not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with open(fd, "rb", buffering=0, closefd=True) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{path}: not a regular file")
        parts: list[bytes] = []
        size = 0
        if info.st_size <= keep_limit:
            parts.append(handle.read(info.st_size + 1))  # sized by fstat: one read for the whole file
            size = len(parts[0])
            while size <= keep_limit and (chunk := handle.read(CHUNK)):  # a short read, or the file grew
                parts.append(chunk)
                size += len(chunk)
            if size <= keep_limit:
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                return ReadFile(hashlib.sha256(data).hexdigest(), size, data)
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        del parts
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return ReadFile(digest.hexdigest(), size, None)
