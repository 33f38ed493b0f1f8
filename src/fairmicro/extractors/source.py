"""Opening input files: format sniffing by signature, pixel checks, basic image facts."""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from fairmicro.errors import UnreadableFileError, first_line
from fairmicro.extractors.ifd import FirstPage, Read, bytes_reader, file_reader, read_first_page
from fairmicro.files import NotARegularFileError, read_head
from fairmicro.hashing import FileEnds, NeedWholeFile

if TYPE_CHECKING:  # base imports the pydantic models; `query` needs only IMAGE_SUFFIXES from here
    from fairmicro.extractors.base import Extraction, SourceFile

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"BM", "bmp"),
)
IMAGE_SUFFIXES = frozenset({".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp"})


def sniff_format(path: Path, head: bytes | None = None) -> str:
    """The container format from the file's first bytes (``head``, else read from ``path``).

    Raises
    ------
    UnreadableFileError
        If the file is empty, unreadable or not a supported image format.
    """
    if head is None:
        head = _read_head(path, 16)
    if not head:
        raise UnreadableFileError(f"{path}: empty file")
    for signature, file_format in _SIGNATURES:
        if head.startswith(signature):
            return file_format
    raise UnreadableFileError(f"{path}: not a TIFF, PNG, JPEG or BMP image (unknown file signature)")


def _read_head(path: Path, size: int) -> bytes:
    """The first bytes of a regular file; a FIFO, socket or device is refused, never waited on."""
    try:
        return read_head(path, size)
    except NotARegularFileError as exc:
        raise UnreadableFileError(f"{path}: not a regular file; not opened") from exc
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


@contextlib.contextmanager
def open_source(path: Path, data: bytes | FileEnds | None = None) -> Iterator[SourceFile]:
    """Open ``path`` for extraction; the file handle is closed on exit.

    ``data``, the file's bytes when the caller has read them already (ingest
    hashes each file while reading it), is parsed in memory instead: the file
    is not opened again. A TIFF on disk is opened once: its signature and its
    tags are read through the same handle. A plain single-page TIFF is read
    by :mod:`~fairmicro.extractors.ifd` (``source.ifd``); tifffile then opens
    it only if an extractor asks for ``source.tiff``.

    ``data`` may also be only the :class:`~fairmicro.hashing.FileEnds` of the
    bytes: anything that needs a byte between them (another format, tifffile,
    a tag value in the middle) raises :class:`~fairmicro.hashing.NeedWholeFile`.
    """
    from fairmicro.extractors.base import SourceFile

    if isinstance(data, FileEnds):
        with _ends_source(path, data) as source:
            yield source
        return
    if data is not None:
        file_format = sniff_format(path, data[:16])
        if file_format == "tiff":
            with _tiff_source(path, lambda: io.BytesIO(data), bytes_reader(data), len(data)) as source:
                yield source
            return
        with _open_pil(path, io.BytesIO(data), file_format) as pil:
            yield SourceFile(path=path, file_format=file_format, pil=pil, size=len(data))
        return
    with _open_regular(path) as (handle, size):
        file_format = sniff_format(path, _read(handle, path, 16))
        if file_format == "tiff":

            def rewound() -> BinaryIO:
                handle.seek(0)
                return handle

            with _tiff_source(path, rewound, file_reader(handle.fileno()), size) as source:
                yield source
            return
    with _open_pil(path, path, file_format) as pil:
        yield SourceFile(path=path, file_format=file_format, pil=pil)


@contextlib.contextmanager
def _ends_source(path: Path, ends: FileEnds) -> Iterator[SourceFile]:
    """The fast path's source read from the ends of a file; :class:`NeedWholeFile` for anything else."""
    if sniff_format(path, ends.head[:16]) != "tiff":
        raise NeedWholeFile(path)

    def whole() -> BinaryIO:
        raise NeedWholeFile(path)

    with _tiff_source(path, whole, ends.read, ends.size) as source:
        yield source


@contextlib.contextmanager
def _tiff_source(path: Path, stream: Callable[[], BinaryIO], read: Read, size: int) -> Iterator[SourceFile]:
    """The fast path's source when :func:`read_first_page` is sure of the file, else tifffile's."""
    from fairmicro.extractors.base import SourceFile

    page = read_first_page(read, size)
    with contextlib.ExitStack() as stack:
        if page is None:
            tiff = stack.enter_context(_open_tiff(path, stream()))
            yield SourceFile(path=path, file_format="tiff", tiff=tiff, size=size)
            return
        source = _lazy_source_class()(path=path, file_format="tiff", size=size, ifd=page)
        source.opener = lambda: stack.enter_context(_open_tiff(path, stream()))
        yield source


@lru_cache(maxsize=1)
def _lazy_source_class() -> type:
    from fairmicro.extractors.base import SourceFile

    class LazyTiffSource(SourceFile):
        """A source whose ``tiff`` is opened by tifffile on first use (an open failure is raised every time)."""

        opener: Callable[[], Any] | None = None
        _opened: Any = None
        _failure: BaseException | None = None

        @property
        def tiff(self) -> Any:
            if self._failure is not None:
                raise self._failure
            if self._opened is None and self.opener is not None:
                opener, self.opener = self.opener, None
                try:
                    self._opened = opener()
                except UnreadableFileError as exc:
                    self._failure = exc
                    raise
            return self._opened

        @tiff.setter
        def tiff(self, value: Any) -> None:
            self._opened = value

        def __repr__(self) -> str:  # the dataclass repr would read ``tiff`` and open the file
            return f"LazyTiffSource(path={self.path!r}, size={self.size}, tiff_opened={self._opened is not None})"

    return LazyTiffSource


@contextlib.contextmanager
def _open_regular(path: Path) -> Iterator[tuple[io.BufferedReader, int]]:
    """(binary handle, size in bytes) of a regular file; a FIFO, socket or device is refused, never waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFileError(f"{path}: not a regular file; not opened")
        handle = open(fd, "rb", closefd=True)  # noqa: SIM115 - closed below
    except OSError as exc:
        os.close(fd)
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, status.st_size


def _read(handle: io.BufferedReader, path: Path, size: int) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


@contextlib.contextmanager
def _open_tiff(path: Path, handle: BinaryIO) -> Iterator[Any]:
    import tifffile

    try:
        tiff = tifffile.TiffFile(handle, name=path.name)
    except Exception as exc:  # tifffile raises many types on corrupt headers
        raise UnreadableFileError(f"{path}: corrupt TIFF ({first_line(exc)})") from exc
    with tiff:
        if not tiff.pages:
            raise UnreadableFileError(f"{path}: TIFF has no image pages")
        yield tiff


@contextlib.contextmanager
def _open_pil(path: Path, file: Path | BinaryIO, file_format: str) -> Iterator[Any]:
    from PIL import Image as PILImage

    try:
        pil = PILImage.open(file)
    except Exception as exc:  # Pillow raises several types for corrupt files
        raise UnreadableFileError(f"{path}: corrupt {file_format.upper()} ({first_line(exc)})") from exc
    with pil:
        yield pil


def verify_pixels(source: SourceFile, page_index: int) -> None:
    """Decode the pixel data once, so truncated or corrupt files are rejected.

    TIFF pixels are decoded one strip or tile at a time and dropped, so the
    check needs memory for one segment, not for the whole image: a small
    deflate file may declare gigabytes of pixels.
    """
    try:
        if source.ifd is not None and page_index == 0:
            _verify_first_page(source, source.ifd)
        elif source.tiff is not None:
            page = source.tiff.pages[page_index]
            _check_tiff_extent(source, page)
            _decode_tiff_segments(page)
        elif source.pil is not None:
            source.pil.load()
    except UnreadableFileError:
        raise
    except Exception as exc:  # decoders raise many types on damaged data
        raise UnreadableFileError(f"{source.path}: pixel data cannot be decoded ({first_line(exc)})") from exc


UNCOMPRESSED = 1
DEFLATE = frozenset({8, 32946})  # ADOBE_DEFLATE, DEFLATE
SEGMENT_LIMIT = 32 << 20  # decoded bytes above which a deflate segment is streamed
READ_BUFFER = 16 << 20  # compressed bytes tifffile reads from the file at once
INFLATE_STEP = 1 << 20  # bytes read or produced per step when streaming a large strip


def _decode_tiff_segments(page: Any) -> None:
    """Decode every strip/tile of ``page`` in turn, keeping none of them.

    A deflate strip larger than ``SEGMENT_LIMIT`` is inflated in bounded
    chunks instead of into one buffer. Uncompressed pixels are not read at all:
    the extent check has found the bytes in the file, and what decoding could
    still find wrong (a layout tifffile cannot decode, a strip or tile shorter
    than its rows) is checked on the tags.
    """
    if page.compression == UNCOMPRESSED:
        _check_uncompressed(page)
        return
    if not page.is_tiled and page.compression in DEFLATE and _strip_nbytes(page, 0) > SEGMENT_LIMIT:
        _inflate_strips(page)
        return
    for _ in page.segments(func=_discard, maxworkers=1, buffersize=READ_BUFFER):
        pass


def _discard(result: object) -> None:
    return None


def _check_uncompressed(page: Any) -> None:
    """Raise if tifffile cannot decode the layout or a segment holds too few bytes."""
    page.decode(None, 0)  # tifffile's decoder raises here for unsupported layouts
    counts = page.databytecounts
    sizes: Iterator[int]
    if page.is_tiled:
        expected = _tile_nbytes(page)
        sizes = (expected for _ in counts)
    else:
        sizes = _strip_sizes(page, len(counts))
    _check_counts(counts, sizes)


def _check_counts(counts: Any, sizes: Iterator[int]) -> None:
    for index, (count, expected) in enumerate(zip(counts, sizes)):
        if 0 < count < expected:
            raise ValueError(f"uncompressed segment {index} holds {count} bytes, expected {expected}")


def _verify_first_page(source: SourceFile, page: FirstPage) -> None:
    """The checks of :func:`verify_pixels` on a page of the fast path (uncompressed strips, as tifffile's)."""
    _check_extent(source, page.offsets, page.counts)
    full, last, strips = page.strip_nbytes(0), page.strip_nbytes(-1), len(page.counts)
    _check_counts(page.counts, (last if index == strips - 1 else full for index in range(strips)))


def _strip_sizes(page: Any, count: int) -> Iterator[int]:
    """:func:`_strip_nbytes` of strips ``0 .. count-1``, the page's tags read once (FEI writes a strip per row)."""
    if count < 2:
        yield from (_strip_nbytes(page, index) for index in range(count))
        return
    full, last = _strip_nbytes(page, 0), _strip_nbytes(page, -1)  # -1: the last strip of a plane
    per_plane = math.ceil(page.imagelength / max(1, min(int(page.rowsperstrip), int(page.imagelength))))
    for index in range(count):
        yield last if index % per_plane == per_plane - 1 else full


def _tile_nbytes(page: Any) -> int:
    samples = int(page.samplesperpixel) if page.planarconfig == 1 else 1
    row = math.ceil(int(page.tilewidth) * samples * int(page.bitspersample) / 8)
    return row * int(page.tilelength) * max(1, int(page.tiledepth))


def _strip_nbytes(page: Any, index: int) -> int:
    """Decoded bytes of strip ``index`` (the last strip of an image may be short)."""
    rows_per_strip = max(1, min(int(page.rowsperstrip), int(page.imagelength)))
    strips_per_plane = math.ceil(page.imagelength / rows_per_strip)
    first_row = (index % strips_per_plane) * rows_per_strip
    rows = min(rows_per_strip, int(page.imagelength) - first_row)
    samples = int(page.samplesperpixel) if page.planarconfig == 1 else 1
    return rows * math.ceil(int(page.imagewidth) * samples * int(page.bitspersample) / 8)


def _inflate_strips(page: Any) -> None:
    """Inflate each deflate strip in bounded steps; fail if one is damaged or short."""
    handle = page.parent.filehandle
    strips = zip(page.dataoffsets, page.databytecounts, strict=False)
    for index, (offset, count) in enumerate(strips):
        if count == 0:
            continue
        produced = _inflated_size(handle, offset, count)
        expected = _strip_nbytes(page, index)
        if produced < expected:
            raise ValueError(f"deflate strip at byte {offset} inflates to {produced} bytes, expected {expected}")


def _inflated_size(handle: Any, offset: int, count: int) -> int:
    """Bytes the zlib stream at ``offset`` inflates to, holding at most ~1 MB at a time."""
    inflater = zlib.decompressobj()
    produced, remaining, pending = 0, count, b""
    handle.seek(offset)
    while not inflater.eof:
        if not pending and remaining:
            pending = handle.read(min(remaining, INFLATE_STEP))
            if not pending:
                break  # the file ends early; the extent check reports truncation
            remaining -= len(pending)
        output = inflater.decompress(pending, INFLATE_STEP)
        pending = inflater.unconsumed_tail
        produced += len(output)
        if not output and not pending and not remaining:
            break  # input used up and nothing left buffered: a cut stream
    return produced


def _check_tiff_extent(source: SourceFile, page: Any) -> None:
    _check_extent(source, page.dataoffsets, page.databytecounts)


def _check_extent(source: SourceFile, offsets: Any, counts: Any) -> None:
    size = source.size if source.size is not None else source.path.stat().st_size  # a SourceFile made elsewhere
    ends = [o + n for o, n in zip(offsets, counts, strict=False)]
    if not ends or max(ends) > size:
        raise UnreadableFileError(
            f"{source.path}: truncated (pixel data runs to byte {max(ends, default=0)}, file has {size})"
        )


def base_extraction(source: SourceFile, page_index: int = 0) -> Extraction:
    """The image facts every extractor starts from (size, depth, channels, pages)."""
    from fairmicro.extractors.base import Extraction

    if source.ifd is not None and page_index == 0:
        first = source.ifd
        return Extraction(
            file_format="tiff",
            width_px=first.width,
            height_px=first.length,
            bit_depth=first.bits,
            channels=first.samples,
        )
    if source.tiff is not None:
        page = source.tiff.pages[page_index].aspage()  # a TiffPage (a TiffFrame only with pages.useframes)
        return Extraction(
            file_format="tiff",
            width_px=int(page.imagewidth),
            height_px=int(page.imagelength),
            bit_depth=int(page.bitspersample),
            channels=int(page.samplesperpixel),
            page_index=page_index,
            page_count=len(source.tiff.pages),
        )
    pil = source.pil
    assert pil is not None
    bands = pil.getbands()
    bit_depth = {"I;16": 16, "I;16B": 16, "I": 32, "F": 32, "1": 1}.get(pil.mode, 8)
    return Extraction(
        file_format=source.file_format,
        width_px=pil.width,
        height_px=pil.height,
        bit_depth=bit_depth,
        channels=len(bands),
        page_count=getattr(pil, "n_frames", 1),
    )
