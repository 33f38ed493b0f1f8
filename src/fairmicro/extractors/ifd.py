"""A minimal reader of single-page, uncompressed TIFFs: the fast path of extraction.

Opening a file with tifffile costs several times what the extractors need from
a plain vendor TIFF (the image size, the strips and one private tag). This
module reads the header and the one IFD of such a file itself, classic TIFF or
BigTIFF, either byte order, and answers only when it is sure it reads the file
exactly as tifffile would. Anything else returns ``None`` and the caller opens
the file with tifffile as before: a second page, a tag it does not know
(tiles, SubIFDs, predictors, Olympus, MetaMorph, LSM, NDPI ...), compression,
an odd sample layout, a value outside the file, a duplicate tag.

The reader never raises, never loops (it reads exactly one IFD and refuses a
non-zero next-IFD offset) and never allocates more than the bounds below.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fairmicro.hashing import NeedWholeFile

Read = Callable[[int, int], bytes]  # (offset, size) -> at most size bytes at offset

# TIFF data type -> bytes per value (tifffile's DATA_FORMATS)
ITEM_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
INTEGER_FORMATS = {3: "H", 4: "I", 16: "Q"}
TEXT_TYPES = frozenset({1, 2, 7})  # BYTE, ASCII, UNDEFINED
VENDOR_TAGS = frozenset({34118, 34680, 34682, 50431})  # CZ_SEM, FEI_SFEG, FEI_HELIOS, TESCAN
# Tags whose values tifffile reads through a parser from the value *offset*, even when the value would fit inline.
OFFSET_READ_TAGS = frozenset({320, 34118, 34680, 34682})
POINTER_TAGS = frozenset({34665, 34853})  # Exif and GPS IFD pointers: not followed, not needed
ALLOWED_TAGS = frozenset(
    {
        254,
        255,
        256,
        257,
        258,
        259,
        262,
        269,
        270,
        271,
        272,
        273,
        274,
        277,
        278,
        279,
        280,
        281,
        282,
        283,
        284,
        285,
        286,
        287,
        296,
        297,
        305,
        306,
        315,
        316,
        320,
        339,
        33432,
        34683,
        50838,
        50839,
        *VENDOR_TAGS,
        *POINTER_TAGS,
    }
)
# (SampleFormat, BitsPerSample) that tifffile decodes to a whole-byte numpy dtype
SAMPLE_TYPES = frozenset(
    {(1, 8), (1, 16), (1, 32), (1, 64), (2, 8), (2, 16), (2, 32), (2, 64), (3, 16), (3, 32), (3, 64)}
)
MAX_TAGS = 512
MAX_STRIPS = 1 << 20
MAX_TAG_BYTES = 64 << 20  # a vendor block larger than this is left to tifffile


class Layout(NamedTuple):
    """Byte order and field formats of a classic TIFF or a BigTIFF."""

    byteorder: str  # "<" or ">"
    bigtiff: bool
    count_format: str  # the IFD's entry count
    offset_format: str  # an offset (the next-IFD link, an out-of-line value)
    entry_format: str  # code, type, count, value field
    count_size: int
    entry_size: int
    inline_size: int  # values up to this many bytes are stored in the entry itself

    @classmethod
    def of(cls, byteorder: str, bigtiff: bool) -> Layout:
        if bigtiff:
            return cls(byteorder, True, byteorder + "Q", byteorder + "Q", byteorder + "HHQ8s", 8, 20, 8)
        return cls(byteorder, False, byteorder + "H", byteorder + "I", byteorder + "HHI4s", 2, 12, 4)


class Entry(NamedTuple):
    """One IFD entry: where its value lies in the file, and the value itself when stored inline."""

    dtype: int
    value_count: int  # the entry's Count field (not tuple.count)
    offset: int
    nbytes: int
    inline: bytes | None


@dataclass
class FirstPage:
    """The facts of a plain single-page TIFF that extraction and the pixel check need."""

    byteorder: str
    bigtiff: bool
    size: int  # bytes in the file
    entries: dict[int, Entry]
    width: int
    length: int
    bits: int
    samples: int
    rows_per_strip: int
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    read: Read = field(repr=False)
    blocks: dict[int, Any] = field(default_factory=dict, repr=False)  # parsed vendor blocks of this file

    def raw(self, code: int) -> bytes | None:
        """The stored bytes of tag ``code`` (``None`` when absent)."""
        entry = self.entries.get(code)
        if entry is None:
            return None
        return entry.inline if entry.inline is not None else self.read(entry.offset, entry.nbytes)

    def strip_nbytes(self, index: int) -> int:
        """Decoded bytes of strip ``index`` (the last strip may be short); ``-1`` is the last strip."""
        strips = math.ceil(self.length / self.rows_per_strip)
        first_row = (index % strips) * self.rows_per_strip
        rows = min(self.rows_per_strip, self.length - first_row)
        return rows * math.ceil(self.width * self.samples * self.bits / 8)


def read_first_page(read: Read, size: int) -> FirstPage | None:
    """The single page of a plain TIFF read through ``read``, or ``None`` when tifffile must decide."""
    try:
        return _read_first_page(_windowed(read), size)
    except (struct.error, ValueError, OverflowError, MemoryError, OSError, IndexError, TypeError):
        return None


def _layout(head: bytes) -> tuple[Layout, int] | None:
    """(layout, offset of the first IFD) from the file's first 16 bytes."""
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        return None
    byteorder = "<" if head[:2] == b"II" else ">"
    version = struct.unpack_from(byteorder + "H", head, 2)[0]
    if version == 42:
        return Layout.of(byteorder, False), struct.unpack_from(byteorder + "I", head, 4)[0]
    if version == 43 and len(head) >= 16 and struct.unpack_from(byteorder + "HH", head, 4) == (8, 0):
        return Layout.of(byteorder, True), struct.unpack_from(byteorder + "Q", head, 8)[0]
    return None


def _read_first_page(read: Read, size: int) -> FirstPage | None:
    found = _layout(read(0, 16))
    if found is None:
        return None
    layout, ifd_offset = found
    entries = _read_entries(read, size, layout, ifd_offset)
    if entries is None:
        return None
    return _page(read, size, layout, entries)


def _read_entries(read: Read, size: int, layout: Layout, ifd_offset: int) -> dict[int, Entry] | None:
    """The entries of the first IFD; ``None`` if it is malformed or another IFD follows."""
    count_size, entry_size, inline_size = layout.count_size, layout.entry_size, layout.inline_size
    if ifd_offset < (16 if layout.bigtiff else 8) or ifd_offset + count_size > size:
        return None
    tag_count = struct.unpack(layout.count_format, read(ifd_offset, count_size))[0]
    table_size = tag_count * entry_size
    if not 0 < tag_count <= MAX_TAGS or ifd_offset + count_size + table_size + inline_size > size:
        return None
    data = read(ifd_offset + count_size, table_size + inline_size)
    if len(data) != table_size + inline_size:
        return None
    if struct.unpack_from(layout.offset_format, data, table_size)[0] != 0:
        return None  # another page follows (or a damaged link): tifffile counts and reads the pages
    entries: dict[int, Entry] = {}
    position = ifd_offset + count_size + entry_size - inline_size  # where the first value field lies
    offset_format = layout.offset_format
    for code, dtype, count, value in struct.iter_unpack(layout.entry_format, data[:table_size]):
        item = ITEM_SIZES.get(dtype)
        if item is None or code in entries or code not in ALLOWED_TAGS:
            return None  # a type tifffile drops, a duplicate, or a tag this reader does not know
        nbytes = count * item
        if code in POINTER_TAGS:
            entries[code] = Entry(dtype, count, position, nbytes, None)
        elif nbytes <= inline_size:
            if code in OFFSET_READ_TAGS:
                return None  # tifffile would read the inline bytes as an offset
            entries[code] = Entry(dtype, count, position, nbytes, value[:nbytes])
        else:
            offset = struct.unpack(offset_format, value)[0]
            if offset < 8 or offset + nbytes > size or nbytes > MAX_TAG_BYTES:
                return None
            if code in VENDOR_TAGS and dtype not in TEXT_TYPES:
                return None  # tifffile's parsers read ``count`` bytes, not ``count`` values
            entries[code] = Entry(dtype, count, offset, nbytes, None)
        position += entry_size
    return entries


def _values(read: Read, layout: Layout, entry: Entry | None, limit: int = MAX_STRIPS) -> tuple[int, ...] | None:
    """The unsigned integer values of an entry (``None`` if absent, not integers, or too many)."""
    if entry is None or entry.dtype not in INTEGER_FORMATS or not 0 < entry.value_count <= limit:
        return None
    data = entry.inline if entry.inline is not None else read(entry.offset, entry.nbytes)
    if len(data) != entry.nbytes:
        return None
    return struct.unpack(f"{layout.byteorder}{entry.value_count}{INTEGER_FORMATS[entry.dtype]}", data)


def _single(read: Read, layout: Layout, entries: dict[int, Entry], code: int, default: int | None) -> int | None:
    """The one value of tag ``code``, ``default`` when absent, ``None`` when it holds several values."""
    entry = entries.get(code)
    if entry is None:
        return default
    if entry.value_count == 1 and entry.inline is not None and entry.dtype in INTEGER_FORMATS:
        return int.from_bytes(entry.inline, "little" if layout.byteorder == "<" else "big")  # an unsigned value
    values = _values(read, layout, entry, 1)
    return values[0] if values else None


def _per_sample(read: Read, layout: Layout, entry: Entry | None, samples: int, default: int) -> int | None:
    """A per-sample tag (BitsPerSample, SampleFormat) whose values all agree, else ``None``."""
    if entry is None:
        return default
    if entry.value_count not in (1, samples):
        return None
    values = _values(read, layout, entry, samples)
    if not values or any(value != values[0] for value in values):
        return None
    return values[0]


def _page(read: Read, size: int, layout: Layout, entries: dict[int, Entry]) -> FirstPage | None:
    facts = _facts(read, layout, entries)
    if facts is None:
        return None
    width, length, samples, bits, rows = facts
    offsets = _values(read, layout, entries.get(273))
    counts = _values(read, layout, entries.get(279))
    strips = math.ceil(length / rows)
    if offsets is None or counts is None or len(offsets) != strips or len(counts) != strips or 0 in counts:
        return None
    return FirstPage(
        layout.byteorder, layout.bigtiff, size, entries, width, length, bits, samples, rows, offsets, counts, read
    )


def _facts(read: Read, layout: Layout, entries: dict[int, Entry]) -> tuple[int, int, int, int, int] | None:
    """(width, length, samples, bits, rows per strip) of a layout tifffile decodes plainly, else ``None``."""
    width = _single(read, layout, entries, 256, None)
    length = _single(read, layout, entries, 257, None)
    samples = _single(read, layout, entries, 277, 1)
    photometric = _single(read, layout, entries, 262, None)
    if not width or not length or photometric not in (0, 1, 2, 3) or samples not in (1, 3):
        return None
    if (samples == 3) != (photometric == 2):
        return None
    planar = _single(read, layout, entries, 284, 1)
    if _single(read, layout, entries, 259, 1) != 1 or planar not in (1, 2) or (planar == 2 and samples != 1):
        return None
    bits = _per_sample(read, layout, entries.get(258), samples, 1)
    sample_format = _per_sample(read, layout, entries.get(339), samples, 1)
    if bits is None or (sample_format, bits) not in SAMPLE_TYPES:
        return None
    rows = _single(read, layout, entries, 278, length) if 278 in entries else length
    if not rows:
        return None
    return width, length, samples, bits, min(rows, length)


WINDOW = 8 << 10  # bytes read at once: the header, an IFD and its values are usually together


def _windowed(read: Read) -> Read:
    """``read`` that serves small reads from the last window of :data:`WINDOW` bytes it fetched."""
    start, data = -1, b""

    def cached(offset: int, size: int) -> bytes:
        nonlocal start, data
        if start <= offset and offset + size <= start + len(data):
            return data[offset - start : offset - start + size]
        if size > WINDOW or offset < 0:
            return read(offset, size)
        try:
            start, data = offset, read(offset, WINDOW)
        except NeedWholeFile:  # only the ends of the file are at hand: the window reaches between them
            start, data = offset, read(offset, size)
        return data[:size]

    return cached


def bytes_reader(data: bytes | memoryview) -> Read:
    """A :data:`Read` over bytes already in memory."""
    view = memoryview(data)

    def read(offset: int, size: int) -> bytes:
        return bytes(view[offset : offset + size]) if offset >= 0 and size >= 0 else b""

    return read


def file_reader(fileno: int) -> Read:
    """A :data:`Read` over an open file descriptor (``os.pread``: the file position is not moved)."""
    import os

    def read(offset: int, size: int) -> bytes:
        if offset < 0 or size < 0:
            return b""
        return os.pread(fileno, size, offset)

    return read
