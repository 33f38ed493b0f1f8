"""File hashing shared by ingest, builds and model artifacts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fairmicro.regular_files import CHUNK, open_regular

KEEP_LIMIT = 64 << 20  # files up to this size are hashed and kept in memory, so they are read once


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


END_BYTES = 16 << 10  # bytes kept of each end of a file whose whole bytes are not kept (see FileEnds)


class NeedWholeFile(BaseException):
    """Extraction needs bytes of the file that :class:`FileEnds` did not keep: read the whole file again.

    A ``BaseException``, so that the ``except Exception`` of an extractor's
    ``sniff`` (which must never raise) cannot turn it into a silent "no".
    """


@dataclass(frozen=True)
class FileEnds:
    """The first and last bytes of a file (read and hashed whole; the middle was not kept).

    The header, the IFD and the tag values of a TIFF usually lie at one end:
    extraction reads them from here, and raises :class:`NeedWholeFile` for
    any byte in between.
    """

    head: bytes
    tail: bytes
    size: int

    def read(self, offset: int, size: int) -> bytes:
        """At most ``size`` bytes at ``offset`` (fewer at the end of the file), as from the whole bytes."""
        if offset < 0 or size < 0:
            return b""
        end = min(offset + size, self.size)
        if end <= len(self.head):
            return self.head[offset:end]
        tail_start = self.size - len(self.tail)
        if offset >= tail_start:
            return self.tail[offset - tail_start : max(0, end - tail_start)]
        raise NeedWholeFile(offset)


@dataclass(frozen=True)
class ReadFile:
    """A regular file's sha256 and size, and its bytes when it was small enough to keep.

    ``ends`` holds the file's first and last bytes when its bytes were read
    whole but not kept; ``mtime_ns`` is the modification time the file had
    when it was opened.
    """

    sha256: str
    size: int
    data: bytes | None
    ends: FileEnds | None = None
    mtime_ns: int | None = None

    @property
    def content(self) -> bytes | FileEnds | None:
        """What extraction reads: the bytes, else the ends, else ``None`` (read the file again)."""
        return self.data if self.data is not None else self.ends


def read_and_hash(path: Path, keep_limit: int = KEEP_LIMIT) -> ReadFile:
    """Read ``path`` once: its sha256, and its bytes when it holds at most ``keep_limit`` bytes.

    The file is opened non-blocking and checked to be a regular file before
    any read, so a FIFO never hangs the caller. A larger file is hashed in
    chunks and not kept (memory stays bounded).

    Raises
    ------
    OSError
        When the file cannot be opened or read;
        :class:`~fairmicro.regular_files.NotRegularFileError` when it is not a
        regular file.
    """
    handle, info = open_regular(path)
    with handle:
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
                return ReadFile(hashlib.sha256(data).hexdigest(), size, data, mtime_ns=info.st_mtime_ns)
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        del parts
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return ReadFile(digest.hexdigest(), size, None, mtime_ns=info.st_mtime_ns)
