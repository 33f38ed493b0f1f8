"""Reading and hashing files in a child process, ahead of the process that extracts and writes them.

With one worker (``--jobs 1``) the bytes of the next files are read and
hashed by a small child process (the standard library only, started in
milliseconds) on another core while this process extracts, validates and
writes. A child, not a thread: a thread shares the GIL, and got it back only
after the extracting thread let go of it, several times per file (measured:
reading and hashing 600 files took 1.6-2x as long beside extraction as
alone). An ingest into a new catalog starts the child before the catalog is
even created (every file is new), so that start-up (imports, the catalog's
migrations) overlaps the reading too.

The child is :mod:`fairmicro.regular_files` run as a script. It reports each
file's size, mtime, sha256 and first and last bytes (where a TIFF keeps its
tags), which are used only when the file's size and mtime are still those the
child saw (else the file is read again whole, here). Memory stays bounded: at
most a pipe buffer of reports waits to be taken.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from fairmicro import regular_files
from fairmicro.hashing import END_BYTES, FileEnds, ReadFile
from fairmicro.regular_files import REPORT as _REPORT

CHILD_SCRIPT = regular_files.__file__  # what the child runs
FEED_NAMES = 1000  # paths per write to the child
PIPE_BYTES = 1 << 20  # reports waiting to be taken, at most (Linux; elsewhere the system's pipe size)


class ReadAhead:
    """Reads ``paths`` in order in a child process; :meth:`take` hands each one over.

    Parameters
    ----------
    paths
        Files to read, in the order they will be asked for.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._index = {path: index for index, path in enumerate(self.paths)}
        self._next = 0  # index of the next path the consumer may ask for
        self._reported = 0  # reports taken from the child so far
        self._buffer = bytearray()  # bytes received from the child
        self._start = 0  # where the reports not yet taken begin in it
        self._child: subprocess.Popen[bytes] | None = None
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", CHILD_SCRIPT, str(END_BYTES)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                bufsize=0,
            )
        except OSError:  # no child: every file is read here, as without read-ahead
            return
        assert self._child.stdout is not None
        self._out = self._child.stdout.fileno()
        _widen(self._out)
        threading.Thread(target=_feed, args=(self._child.stdin, self.paths), name="fairmicro-read", daemon=True).start()

    def covers(self, path: Path) -> bool:
        """Whether ``path`` is read here and not yet taken (nor passed over)."""
        index = self._index.get(path)
        return index is not None and index >= self._next

    def take(self, path: Path) -> ReadFile | None:
        """``path``'s read; ``None`` when it is not read ahead here or could not be read.

        Files read ahead before ``path`` and never asked for are dropped.
        """
        wanted = self._index.get(path)
        if wanted is None or wanted < self._next or self._child is None:
            return None
        self._next = wanted + 1
        while True:
            report = self._report()
            if report is None:  # the child ended early (killed): files are read here from now on
                self.close()
                return None
            self._reported += 1
            if self._reported > wanted:
                return report[1] if report[0] else None

    def _report(self) -> tuple[bool, ReadFile | None] | None:
        """The child's next report (ok, the read), or ``None`` when the child ended first."""
        if not self._fill(_REPORT.size):
            return None
        start = self._start
        ok, size, mtime_ns, digest, head_bytes, tail_bytes = _REPORT.unpack_from(self._buffer, start)
        head_start = start + _REPORT.size
        end = head_start + head_bytes + tail_bytes
        if not self._fill(end - start):
            return None
        start, buffer = self._start, self._buffer  # _fill may have moved the unread bytes to the front
        head_start = start + _REPORT.size
        head = bytes(buffer[head_start : head_start + head_bytes])
        tail = bytes(buffer[head_start + head_bytes : head_start + head_bytes + tail_bytes])
        self._start = head_start + head_bytes + tail_bytes
        if not ok:
            return False, None
        if not tail:
            return True, ReadFile(digest.hex(), size, head, mtime_ns=mtime_ns)
        return True, ReadFile(digest.hex(), size, None, FileEnds(head, tail, size), mtime_ns)

    def _fill(self, size: int) -> bool:
        """Receive until ``size`` unread bytes are buffered (as many as the pipe holds per read); ``False`` at its end."""
        while len(self._buffer) - self._start < size:
            if self._start:  # drop what was taken, once per receive rather than once per report
                del self._buffer[: self._start]
                self._start = 0
            data = os.read(self._out, PIPE_BYTES)
            if not data:
                return False
            self._buffer += data
        return True

    def close(self) -> None:
        """Stop the child and drop what it read ahead."""
        child, self._child = self._child, None
        if child is None:
            return
        child.kill()
        child.wait()
        for pipe in (child.stdout, child.stdin):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self._buffer.clear()
        self._start = 0


def _widen(fd: int) -> None:
    """Let the pipe hold :data:`PIPE_BYTES`, so the child reads that far ahead (Linux; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:
        return
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux only; another system's command number could mean anything
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # above the system's pipe-max-size: the default size still works
            pass


def _feed(pipe: IO[bytes] | None, paths: list[Path]) -> None:
    """Send the child the paths to read, a thousand names per write, then end its input."""
    if pipe is None:
        return
    try:
        with pipe:
            for start in range(0, len(paths), FEED_NAMES):
                pipe.write(b"".join(os.fsencode(path) + b"\0" for path in paths[start : start + FEED_NAMES]))
    except OSError:  # the child was stopped
        pass
