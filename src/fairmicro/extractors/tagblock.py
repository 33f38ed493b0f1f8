"""Read a vendor text block from a TIFF tag with tifffile's own parser, tolerating bad bytes.

tifffile decodes a block as UTF-8, then cp1252; a byte undefined in cp1252
(0x81, 0x8d, 0x8f, 0x90, 0x9d) makes both fail and the tag value stays raw
bytes. Here such bytes are replaced (U+FFFD) and the text is parsed again by
the same tifffile reader, so one stray byte costs a warning, not the file.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

PARSERS = {34118: "read_cz_sem", 34680: "read_fei_metadata", 34682: "read_fei_metadata"}


def _reparse(raw: bytes, code: int, byteorder: str) -> dict[str, Any]:
    import tifffile

    text = raw.split(b"\0", 1)[0].decode("cp1252", errors="replace").encode("utf-8")
    reader: Callable[..., dict[str, Any]] = getattr(tifffile.tifffile, PARSERS[code])
    handle = tifffile.FileHandle(io.BytesIO(text))
    try:
        return reader(handle, byteorder, 1, len(text), 4)
    finally:
        handle.close()


def read_block(page: Any, code: int) -> tuple[dict[str, Any], str | None]:
    """(parsed block, warning or None) of tag ``code`` on ``page``; ``{}`` when absent or unusable."""
    tag = page.tags.get(code)
    if tag is None:
        return {}, None
    value = tag.value
    if isinstance(value, dict):
        return value, None
    if isinstance(value, (bytes, bytearray)):
        block = _reparse(bytes(value), code, page.parent.byteorder)
        return block, f"tag {code} held bytes that are not text; they were replaced before parsing"
    return {}, f"tag {code} holds a {type(value).__name__}, not a text block"
