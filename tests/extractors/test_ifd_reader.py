"""The fast TIFF path (``fairmicro.extractors.ifd``) gives exactly what the tifffile path gives.

Every comparison runs :func:`extract_file` twice on the same file, once as
users run it and once with the fast reader switched off (tifffile opens every
TIFF), and compares the whole outcome: the extractor, every field of the
extraction, its field sources, warnings and vendor block, or the error line.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fairmicro.errors import FairmicroError
from fairmicro.extractors import blocktext, ifd, source, tagblock
from fairmicro.extractors.registry import extract_file
from fairmicro.testing import samples, vendor_samples
from fairmicro.testing.samples import texture

Outcome = tuple


def outcome(path: Path, data: bytes | None = None) -> Outcome:
    """Everything a user can observe of one extraction (or the error line)."""
    try:
        extractor, extraction = extract_file(path, data=data)
    except FairmicroError as exc:
        return ("error", type(exc).__name__, str(exc))
    fields = dataclasses.asdict(extraction)
    fields.pop("vendor_metadata")
    return (extractor.name, repr(fields), extraction.vendor_metadata_json())


@pytest.fixture
def compare(monkeypatch: pytest.MonkeyPatch) -> Callable[..., bool]:
    """``compare(path, data=None)``: assert both paths agree; return whether the fast reader took the file."""
    real = source.read_first_page

    def check(path: Path, data: bytes | None = None) -> bool:
        taken: list[bool] = []

        def recording(read: ifd.Read, size: int) -> ifd.FirstPage | None:
            page = real(read, size)
            taken.append(page is not None)
            return page

        monkeypatch.setattr(source, "read_first_page", recording)
        fast = outcome(path, data)
        monkeypatch.setattr(source, "read_first_page", lambda read, size: None)
        slow = outcome(path, data)
        monkeypatch.setattr(source, "read_first_page", real)
        assert fast == slow
        return any(taken)

    return check


def vendor_tiff(path: Path, code: int, raw: bytes, data: np.ndarray | None = None, **kwargs: object) -> Path:
    """A TIFF with ``raw`` in tag ``code`` written with tifffile options (bigtiff, byteorder, rowsperstrip ...)."""
    data = texture((40, 56)) if data is None else data
    kwargs.setdefault("photometric", "rgb" if data.ndim == 3 and data.shape[-1] == 3 else "minisblack")
    tifffile.imwrite(path, data, extratags=[(code, "B", len(raw), raw, True)], **kwargs)
    return path


def imagej_one_ifd(path: Path) -> Path:
    """An ImageJ hyperstack of 5 images whose IFD chain was cut after the first (as ImageJ writes > 4 GB)."""
    tifffile.imwrite(path, np.zeros((5, 16, 16), np.uint8), imagej=True)
    data = bytearray(path.read_bytes())
    first = struct.unpack_from("<I", data, 4)[0]
    struct.pack_into("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0], 0)
    path.write_bytes(bytes(data))
    return path


ZEISS = samples.zeiss_block().encode("latin-1")
FEI = samples.fei_block().encode("latin-1")
TESCAN = vendor_samples.tescan_tag_bytes(vendor_samples.TESCAN_DEFAULTS)
TESCAN_BE = vendor_samples.tescan_tag_bytes(vendor_samples.TESCAN_DEFAULTS, ">")

# (name, writer(path) -> path, whether the fast reader must take it)
CASES: list[tuple[str, Callable[[Path], Path], bool]] = [
    ("zeiss", lambda p: samples.write_zeiss_tiff(p), True),
    ("zeiss-no-store", lambda p: samples.write_zeiss_tiff(p, store=None), True),
    ("fei", lambda p: samples.write_fei_tiff(p), True),
    ("fei-16bit", lambda p: samples.write_fei_tiff(p, texture((48, 64), dtype="uint16")), True),
    ("zeiss-bigtiff", lambda p: vendor_tiff(p, 34118, ZEISS, bigtiff=True), True),
    ("zeiss-bigtiff-be", lambda p: vendor_tiff(p, 34118, ZEISS, bigtiff=True, byteorder=">"), True),
    ("fei-be-strips", lambda p: vendor_tiff(p, 34682, FEI, byteorder=">", rowsperstrip=7), True),
    ("fei-one-row-strips", lambda p: vendor_tiff(p, 34682, FEI, rowsperstrip=1), True),
    ("fei-sfeg", lambda p: vendor_tiff(p, 34680, FEI), True),
    ("zeiss-rgb", lambda p: vendor_tiff(p, 34118, ZEISS, np.dstack([texture((40, 56))] * 3)), True),
    ("zeiss-float", lambda p: vendor_tiff(p, 34118, ZEISS, texture((40, 56)).astype("float32")), True),
    (
        "zeiss-int16-be",
        lambda p: vendor_tiff(p, 34118, ZEISS, texture((40, 56), dtype="uint16").astype("int16"), byteorder=">"),
        True,
    ),
    ("zeiss-nul-inside", lambda p: vendor_tiff(p, 34118, ZEISS.replace(b"kV", b"k\0V", 1)), True),
    ("zeiss-undefined-byte", lambda p: vendor_tiff(p, 34118, ZEISS.replace(b"Sigma", b"Sig\x81ma", 1)), True),
    ("fei-empty", lambda p: vendor_tiff(p, 34682, b"\0\0\0\0\0\0"), True),
    ("fei-garbage", lambda p: vendor_tiff(p, 34682, bytes(range(256)) * 3), True),
    ("tescan-blocks", lambda p: vendor_samples.write_tescan_tiff(p), True),
    ("tescan-blocks-be", lambda p: vendor_tiff(p, 50431, TESCAN_BE, byteorder=">"), True),
    ("tescan-ini", lambda p: vendor_samples.write_tescan_tiff(p, layout="ini", strip_rows=8), True),
    ("tescan-short", lambda p: vendor_tiff(p, 50431, b"[MA"), True),
    ("tescan-pair", lambda p: vendor_samples.write_tescan_pair(p), True),
    ("jeol-pair", lambda p: vendor_samples.write_jeol_pair(p), True),
    ("hitachi-pair", lambda p: vendor_samples.write_hitachi_pair(p), True),
    ("plain", lambda p: vendor_samples.write_image(p, texture((40, 56))), True),
    ("imagej", lambda p: samples.write_imagej_tiff(p, 0.25), True),
    ("imagej-one-ifd", imagej_one_ifd, True),
    ("ome", lambda p: tifffile.imwrite(p, texture((40, 56)), ome=True, metadata={"PhysicalSizeX": 0.5}) or p, True),
    ("olympus", lambda p: vendor_samples.write_olympus_sis_tiff(p), False),
    ("deflate", lambda p: vendor_tiff(p, 34118, ZEISS, compression="zlib"), False),
    ("tiled", lambda p: vendor_tiff(p, 34118, ZEISS, texture((64, 64)), tile=(32, 32)), False),
    ("two-pages", lambda p: vendor_tiff(p, 34682, FEI, np.stack([texture((40, 56))] * 2)), False),
    (
        "zeiss-predictor",
        lambda p: vendor_tiff(p, 34118, ZEISS, texture((40, 56), dtype="uint16"), compression="zlib", predictor=True),
        False,
    ),
]


@pytest.mark.parametrize(("name", "writer", "fast"), CASES, ids=[case[0] for case in CASES])
def test_fast_and_tifffile_paths_agree(
    compare: Callable[..., bool], tmp_path: Path, name: str, writer: Callable[[Path], Path], fast: bool
) -> None:
    path = writer(tmp_path / f"{name}.tif")
    assert compare(path) is fast
    assert compare(path, path.read_bytes()) is fast  # as ingest passes the bytes it has read


def test_real_files_agree(compare: Callable[..., bool], real_tiffs: Path) -> None:
    taken = {path.name: compare(path) for path in sorted(real_tiffs.rglob("*.tif"))}
    assert taken
    assert {name for name, fast in taken.items() if not fast} <= {"olympus_SIS.tif"}


def _classic(entries: list[tuple[int, int, int, int]], next_ifd: int = 0, tail: bytes = b"") -> bytes:
    """A little-endian classic TIFF: IFD at 8 with ``(code, dtype, count, value)`` entries, then ``tail``."""
    ifd_bytes = struct.pack("<H", len(entries))
    for code, dtype, count, value in entries:
        ifd_bytes += struct.pack("<HHII", code, dtype, count, value)
    return b"II*\0" + struct.pack("<I", 8) + ifd_bytes + struct.pack("<I", next_ifd) + tail


def _plain_entries(data_offset: int, strips: tuple[int, int] = (1, 16)) -> list[tuple[int, int, int, int]]:
    count, nbytes = strips
    return [
        (256, 3, 1, 4),
        (257, 3, 1, 4),
        (258, 3, 1, 8),
        (262, 3, 1, 1),
        (273, 4, count, data_offset),
        (278, 3, 1, 4),
        (279, 4, count, nbytes),
    ]


def test_loop_in_ifd_chain_is_left_to_tifffile(compare: Callable[..., bool], tmp_path: Path) -> None:
    """An IFD whose next-IFD link points at itself: the fast reader declines, the outcome is tifffile's."""
    data = _classic(_plain_entries(8 + 2 + 7 * 12 + 4), next_ifd=8, tail=bytes(16))
    assert ifd.read_first_page(ifd.bytes_reader(data), len(data)) is None
    path = tmp_path / "loop.tif"
    path.write_bytes(data)
    assert compare(path) is False


def test_huge_counts_and_offsets_past_eof_are_declined_without_reading(tmp_path: Path) -> None:
    reads: list[int] = []
    base = _classic(_plain_entries(8 + 2 + 7 * 12 + 4), tail=bytes(16))

    def counting(data: bytes) -> ifd.Read:
        inner = ifd.bytes_reader(data)

        def read(offset: int, size: int) -> bytes:
            reads.append(size)
            return inner(offset, size)

        return read

    assert ifd.read_first_page(counting(base), len(base)) is not None
    huge = [(273, 4, 2**31, 8), (279, 4, 2**31, 8)]
    past_eof = [(273, 4, 2, 10_000), (279, 4, 2, 10_000)]
    for swap in (huge, past_eof, [(256, 3, 1, 0)], [(34118, 1, 2**30, 20)]):
        entries = {code: (code, t, c, v) for code, t, c, v in _plain_entries(100)}
        entries.update({code: (code, t, c, v) for code, t, c, v in swap})
        data = _classic(sorted(entries.values()), tail=bytes(64))
        reads.clear()
        assert ifd.read_first_page(counting(data), len(data)) is None
        assert max(reads) <= ifd.WINDOW  # one bounded window, never the declared size


def test_tag_count_beyond_file_and_bad_headers_are_declined() -> None:
    for data in (b"II*\0\x08\0\0\0\xff\xff", b"II+\0\x08\0\0\0" + bytes(8), b"MM\0*\0\0\0\x04", b"II*\0", b""):
        assert ifd.read_first_page(ifd.bytes_reader(data), len(data)) is None


BASES = {
    "zeiss": lambda p: samples.write_zeiss_tiff(p, texture((24, 32))),
    "fei-be": lambda p: vendor_tiff(p, 34682, FEI, texture((24, 32)), byteorder=">", rowsperstrip=5),
    "tescan": lambda p: vendor_samples.write_tescan_tiff(p, texture((24, 32))),
    "bigtiff": lambda p: vendor_tiff(p, 34118, ZEISS, texture((24, 32)), bigtiff=True),
}


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("bases")
    return {name: writer(folder / f"{name}.tif").read_bytes() for name, writer in BASES.items()}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(sorted(BASES)),
    edits=st.lists(st.tuples(st.integers(0, 1200), st.integers(0, 255)), max_size=2),
    words=st.lists(st.tuples(st.integers(0, 400), st.sampled_from([0, 1, 2**15, 2**31 - 1, 2**32 - 1])), max_size=1),
    cut=st.sampled_from([None, None, None, 1, 9, 100, 300, 1000, 1800, 2500]),
    as_bytes=st.booleans(),
)
def test_mutated_files_agree(
    compare: Callable[..., bool],
    bases: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
    base: str,
    edits: list[tuple[int, int]],
    words: list[tuple[int, int]],
    cut: int | None,
    as_bytes: bool,
) -> None:
    """Damaged headers, IFDs, counts and offsets, truncation: the fast path never differs from tifffile's."""
    data = bytearray(bases[base])
    for position, value in edits:
        if position < len(data):
            data[position] = value
    for position, value in words:
        if position + 4 <= len(data):
            data[position : position + 4] = struct.pack("<I", value)
    if cut is not None:
        del data[cut:]
    path = tmp_path_factory.getbasetemp() / "mutated" / "image.tif"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(bytes(data))
    event(f"fast path: {compare(path, bytes(data) if as_bytes else None)}")


TRICKY = [
    "42",
    "-7",
    "+3",
    "007",
    " 5",
    "5 ",
    "1_000",
    "3.14",
    ".5",
    "5.",
    "1e-3",
    "1E+05",
    "-.5e3",
    "nan",
    "NaN",
    "-inf",
    "Infinity",
    " inf ",
    "+-inf",
    "true",
    " TRUE ",
    "False",
    "yes",
    "On",
    "No",
    "",
    "  ",
    "kV",
    "Quanta 650 FEG",
    "03/14/2025",
    "\u0663\u0664",
    "\uff15",
    "1\u00a0",
    "\u00a0",
    "e5",
    "5e",
    "0x10",
    "1.2.3",
    "İNF",
    "ınf",
    "\u2400",
    "12 kV",
    "1.5 um",
    "Sigma",
]


@pytest.mark.parametrize("value", TRICKY)
def test_fast_astype_equals_tifffile(value: str) -> None:
    for types in (None, (int, float)):
        ours, theirs = blocktext.astype(value, types), tifffile.tifffile.astype(value, types)
        assert (type(ours), repr(ours)) == (type(theirs), repr(theirs))


LINE_PARTS = st.sampled_from(
    [
        *TRICKY,
        "=",
        ":",
        "[Beam]",
        "[EBeam]",
        "AP_WD",
        "DP_DETECTOR",
        "\r\n",
        "\n",
        " ",
        "HV=",
        "Label = ",
        "\t",
        "[",
        "]",
    ]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(LINE_PARTS, max_size=40), noise=st.text(max_size=20))
def test_fast_block_parsers_equal_tifffile(parts: list[str], noise: str) -> None:
    raw = ("".join(parts) + noise).encode("utf-8", "replace")
    for code in (34118, 34682):
        reader = getattr(tifffile.tifffile, tagblock.PARSERS[code])
        handle = tifffile.FileHandle(io.BytesIO(raw))
        expected = reader(handle, "<", 1, len(raw), 4)
        got = blocktext.PARSERS[code](tagblock._Bytes(raw), "<", 1, len(raw), 4)
        assert repr(got) == repr(expected)


def test_fast_block_parsers_on_samples() -> None:
    for code, raw in ((34118, ZEISS), (34682, FEI)):
        expected = getattr(tifffile.tifffile, tagblock.PARSERS[code])(
            tifffile.FileHandle(io.BytesIO(raw)), "<", 1, len(raw), 4
        )
        assert repr(blocktext.PARSERS[code](tagblock._Bytes(raw), "<", 1, len(raw), 4)) == repr(expected)


@pytest.mark.parametrize("name", ["zeiss", "fei", "tescan-blocks", "jeol-pair", "hitachi-pair", "tescan-pair"])
def test_vendor_files_on_the_fast_path_never_open_tifffile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    """The speed of the fast path: tifffile is not asked to open a plain vendor TIFF at all."""
    writer = {case[0]: case[1] for case in CASES}[name]
    path = writer(tmp_path / f"{name}.tif")

    def refuse(*args: object) -> None:
        raise AssertionError("tifffile opened a file the fast reader took")

    monkeypatch.setattr(source, "_open_tiff", refuse)
    extractor, extraction = extract_file(path)
    assert extraction.width_px > 0 and extractor.name != "generic"
    extract_file(path, data=path.read_bytes())
