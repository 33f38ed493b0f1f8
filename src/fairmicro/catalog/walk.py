"""Finding the files an ingest reads, without ever blocking on or crashing over a hostile entry.

Only regular files are ever opened. Everything else that a folder walk meets
and cannot use (a FIFO, socket or device, a dangling or looping symbolic link,
an unreadable folder, a folder named like an image, a name that is not valid
UTF-8) is reported as *skipped* with its reason, one entry each, and the walk
goes on.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fairmicro.extractors.source import IMAGE_SUFFIXES

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass
class FileSet:
    """Image files to ingest, and the entries that were skipped (path, reason)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, path: Path | str, reason: str) -> None:
        """Record one skipped entry."""
        self.skipped.append((display(Path(path).absolute()), reason))


def display(text: Path | str) -> str:
    """``text`` safe to print: undecodable bytes as ``\\xNN``, control and format characters escaped.

    A file name can hold a newline, a terminal escape sequence or bytes that
    are not UTF-8; printed raw, it could forge or garble output lines.
    """
    text = str(text)
    if text.isascii() and text.isprintable():  # the usual case: nothing to escape (one C pass, not one per char)
        return text
    out = []
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def not_utf8(path: Path | str) -> bool:
    """True when the path holds bytes that are not valid UTF-8 (the catalog stores UTF-8 text)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def not_regular(mode: int) -> str:
    """The reason a non-regular file is never opened."""
    return f"{special_kind(mode) or 'a special file'}, not a regular file; not opened"


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is (``None`` for a regular file or folder)."""
    return next((name for test, name in _KINDS if test(mode)), None)


def collect_files(paths: Iterable[Path]) -> FileSet:
    """Files named on the command line, and image files found under folders (sorted).

    A named file is kept whatever its suffix (the extractors decide), unless it
    is not a regular file. Hidden entries under a folder are ignored silently.
    """
    found = FileSet()
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            if path.is_symlink():
                found.skip(path, _broken_link(path))
            else:
                found.files.append(path.absolute())  # the survey reports the missing file
            continue
        if stat.S_ISDIR(info.st_mode):
            _walk(path.absolute(), found, visited=set())  # absolute once: the paths found under it are too
        elif not stat.S_ISREG(info.st_mode):
            found.skip(path, not_regular(info.st_mode))
        elif not_utf8(path):
            found.skip(path, "file name is not valid UTF-8; rename the file to ingest it")
        else:
            found.files.append(path.absolute())
    return found


def _broken_link(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
    return f"dangling symbolic link (target {display(os.readlink(path))} does not exist)"


def _walk(folder: Path, found: FileSet, visited: set[tuple[int, int]]) -> None:
    """Depth-first, sorted; follows linked folders once each (a loop is reported). ``folder`` is absolute."""
    info = folder.stat()
    key = (info.st_dev, info.st_ino)
    if key in visited:
        found.skip(folder, "symbolic link loop (folder already searched)")
        return
    visited.add(key)
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        found.skip(folder, f"folder cannot be read ({exc.strerror or exc})")
        return
    for entry in entries:
        if not entry.name.startswith("."):
            _entry(Path(entry.path), entry, found, visited)  # absolute, as its folder is: no cwd lookup per file


def _entry(path: Path, entry: os.DirEntry[str], found: FileSet, visited: set[tuple[int, int]]) -> None:
    image_name = os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES
    try:
        info = entry.stat(follow_symlinks=True)
    except OSError:
        found.skip(path, _broken_link(path) if entry.is_symlink() else "cannot be examined")
        return
    if stat.S_ISDIR(info.st_mode):
        if image_name:
            found.skip(path, "a folder named like an image file; searched as a folder")
        _walk(path, found, visited)
    elif not stat.S_ISREG(info.st_mode):
        found.skip(path, not_regular(info.st_mode))
    elif image_name:
        if not_utf8(entry.path):
            found.skip(path, "file name is not valid UTF-8; rename the file to ingest it")
        else:
            found.files.append(path)


def json_text(text: str) -> str:
    """``text`` encodable as UTF-8 JSON: undecodable bytes of a file name become ``\\xNN``.

    Control characters are left alone (JSON escapes them itself).
    """
    if not not_utf8(text):
        return text
    return (
        "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)
        .encode("utf-8", "backslashreplace")
        .decode("utf-8")
    )


def no_files_message(paths: Sequence[Path], skipped: Sequence[tuple[str, str]]) -> str:
    """The one-line error when the inputs hold no image file to ingest."""
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
    message = f"no image files ({suffixes}) under {', '.join(display(p) for p in paths)}"
    if skipped:
        path, reason = skipped[0]
        more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
        message += f"; skipped {display(path)}: {reason}{more}"
    return message
