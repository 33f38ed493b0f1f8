"""Read a vendor text block from a TIFF tag with tifffile's own parser, tolerating bad bytes.

tifffile decodes a block as UTF-8, then cp1252, and stops at the first NUL
byte: a NUL inside the text (``HV=20\\x00000``) cuts that value short and drops
every key after it, and a leading NUL drops the whole block. A byte undefined
in cp1252 (0x81, 0x8d, 0x8f, 0x90, 0x9d) makes both decodings fail and the tag
value stays raw bytes. In both cases the tag's raw bytes are read again here:
undefined bytes are replaced (U+FFFD), NUL padding is dropped and other NULs
are marked (:func:`~fairmicro.extractors.vendortext.mark_nuls`), and the text is
parsed again by the same tifffile reader, so a bad byte costs a warning (and
the value holding it), not the file.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fairmicro.extractors.blocktext import PARSERS as FAST_PARSERS
from fairmicro.extractors.vendortext import count_nuls, mark_nuls

if TYPE_CHECKING:
    from fairmicro.extractors.base import SourceFile

PARSERS = {34118: "read_cz_sem", 34680: "read_fei_metadata", 34682: "read_fei_metadata"}


def raw_tag_bytes(page: Any, code: int) -> bytes | None:
    """The bytes of tag ``code`` as stored in the file (``None`` when absent or unreadable)."""
    tag = page.tags.get(code)
    if tag is None:
        return None
    handle = page.parent.filehandle
    try:
        with handle.lock:
            handle.seek(tag.valueoffset)
            return bytes(handle.read(tag.valuebytecount))
    except (OSError, ValueError, AttributeError):
        return None


def tag_text(raw: bytes) -> tuple[str, bool]:
    """(text with NULs marked, whether undefined bytes had to be replaced) of raw tag bytes."""
    try:
        text, replaced = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        replaced = "\ufffd" in text
    return mark_nuls(text), replaced


def _reparse(text: str, code: int, byteorder: str) -> dict[str, Any]:
    import tifffile

    data = text.encode("utf-8")
    reader: Callable[..., dict[str, Any]] = getattr(tifffile.tifffile, PARSERS[code])
    handle = tifffile.FileHandle(io.BytesIO(data))
    try:
        return reader(handle, byteorder, 1, len(data), 4)
    finally:
        handle.close()


_BLOCKS: weakref.WeakKeyDictionary[Any, dict[int, tuple[dict[str, Any], str | None]]] = weakref.WeakKeyDictionary()


def read_block(page: Any, code: int) -> tuple[dict[str, Any], str | None]:
    """(parsed block, warning or None) of tag ``code`` on ``page``; ``{}`` when absent or unusable.

    Parsed once per page: an extractor's sniff and its extract ask for the same block.
    """
    try:
        blocks = _BLOCKS.setdefault(page, {})
    except TypeError:  # a page object that cannot be weakly referenced: parse every time
        return _read_block(page, code)
    if code not in blocks:
        blocks[code] = _read_block(page, code)
    return blocks[code]


def source_block(source: SourceFile, code: int) -> tuple[dict[str, Any], str | None]:
    """:func:`read_block` of the first page of ``source``, read by the fast path when it has the file."""
    page = source.ifd
    if page is None:
        assert source.tiff is not None
        return read_block(source.tiff.pages.first, code)
    if code not in page.blocks:
        page.blocks[code] = _read_raw_block(page.raw(code), code, page.byteorder)
    return page.blocks[code]


class _Bytes:
    """The one method of a file handle tifffile's block readers use."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        return self.data if size < 0 else self.data[:size]


def _read_raw_block(raw: bytes | None, code: int, byteorder: str) -> tuple[dict[str, Any], str | None]:
    """As :func:`_read_block` on the stored bytes of a text tag: tifffile's own parse when it is whole."""
    if raw is None:
        return {}, None
    if b"\0" not in raw.rstrip(b"\0"):
        reader = FAST_PARSERS[code]  # tifffile's parsers with a faster astype
        try:
            value = reader(_Bytes(raw), byteorder, 1, len(raw), 4)
        except Exception:  # noqa: BLE001 - as tifffile: a failing parser leaves the raw bytes, read again below
            value = None
        if isinstance(value, dict):
            return value, None
    return _parse_text(raw, code, byteorder)


def _read_block(page: Any, code: int) -> tuple[dict[str, Any], str | None]:
    tag = page.tags.get(code)
    if tag is None:
        return {}, None
    value = tag.value
    raw = raw_tag_bytes(page, code)
    if raw is None or (isinstance(value, dict) and b"\0" not in raw.rstrip(b"\0")):
        if isinstance(value, dict):
            return value, None
        if not isinstance(value, (bytes, bytearray)):
            return {}, f"tag {code} holds a {type(value).__name__}, not a text block"
        raw = bytes(value)
    return _parse_text(raw, code, page.parent.byteorder)


def _parse_text(raw: bytes, code: int, byteorder: str) -> tuple[dict[str, Any], str | None]:
    text, replaced = tag_text(raw)
    block = _reparse(text, code, byteorder)
    problems = []
    if replaced:
        problems.append(f"tag {code} held bytes that are not text; they were replaced before parsing")
    nuls = count_nuls(block)
    if nuls:
        problems.append(
            f"tag {code} has NUL bytes inside its text ({nuls} keys or values); those values are left empty"
        )
    return block, "; ".join(problems) or None
