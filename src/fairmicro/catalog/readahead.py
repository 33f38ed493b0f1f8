"""Reading and hashing files in a thread, ahead of the thread that extracts and writes them.

Reading and sha256 release the GIL, so with one worker (``--jobs 1``) the
bytes of the next files are read and hashed on another core while this one
extracts, validates and writes. An ingest into a new catalog starts reading
before the catalog is even created (every file is new), so that start-up
(imports, the catalog's migrations) overlaps the reading too.

Memory stays bounded and nothing is allocated per file but its ends: the
bytes pass through one reused buffer, and only the
:class:`~fairmicro.hashing.FileEnds` of each file (where a TIFF keeps its
tags) are handed over; at most :data:`MAX_AHEAD` files are read ahead.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from fairmicro.hashing import CHUNK, ReadFile, hash_keeping_ends

MAX_AHEAD = 512  # files read ahead at most (their ends: at most 16 MB)
# While the reader runs, it gets the GIL back within this many seconds after each read and hash (both
# release it), instead of Python's default 5 ms: with the default, the reader waits for the GIL while the
# other thread extracts, so reading and extracting barely overlap (measured: 1.2-1.9x slower per file).
SWITCH_S = 0.0002

Outcome = ReadFile | BaseException


class ReadAhead:
    """Reads ``paths`` in order in a background thread; :meth:`take` hands each one over.

    Parameters
    ----------
    paths
        Files to read, in the order they will be asked for.
    max_ahead
        Files read but not yet taken, at most.
    """

    def __init__(self, paths: Sequence[Path], max_ahead: int = MAX_AHEAD) -> None:
        self.paths = list(paths)
        self._index = {path: index for index, path in enumerate(self.paths)}
        self._next = 0  # index of the next path the consumer may ask for
        self._ready: deque[tuple[int, Outcome]] = deque()
        self._max_ahead = max_ahead
        self._done = self._stop = False
        self._cond = threading.Condition()
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, SWITCH_S))
        self._thread = threading.Thread(target=self._run, name="fairmicro-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer = bytearray(CHUNK)
        try:
            for index, path in enumerate(self.paths):
                with self._cond:
                    while len(self._ready) >= self._max_ahead and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                outcome = _read(path, buffer)
                with self._cond:
                    self._ready.append((index, outcome))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def covers(self, path: Path) -> bool:
        """Whether ``path`` is read here and not yet taken (nor passed over)."""
        index = self._index.get(path)
        return index is not None and index >= self._next

    def take(self, path: Path) -> Outcome | None:
        """``path``'s read (or the exception reading it raised); ``None`` when it is not read ahead here.

        Files read ahead before ``path`` and never asked for are dropped.
        """
        wanted = self._index.get(path)
        if wanted is None or wanted < self._next:
            return None
        self._next = wanted + 1
        with self._cond:
            while True:
                while self._ready and self._ready[0][0] < wanted:
                    self._ready.popleft()
                if self._ready:
                    index, outcome = self._ready.popleft()
                    self._cond.notify_all()
                    return outcome if index == wanted else None
                if self._done:
                    return None
                self._cond.wait()

    def close(self) -> None:
        """Stop reading, drop what was read ahead, restore the GIL switch interval."""
        with self._cond:
            self._stop = True
            self._ready.clear()
            self._cond.notify_all()
        self._thread.join()
        sys.setswitchinterval(self._switch)


def _read(path: Path, buffer: bytearray) -> Outcome:
    try:
        return hash_keeping_ends(path, buffer)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which reads the file again itself
        return exc
