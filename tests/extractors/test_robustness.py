"""Property-based robustness: random and mutated vendor text never crashes a parser.

Every vendor block (Zeiss CZ_SEM, FEI INI, TESCAN tag and ``.hdr``, JEOL and
Hitachi sidecars) is fed, in its real place in a file, with mutated copies of
a valid block, random text and random bytes. Sniffing, extracting (called
directly, not through the registry's catch-all) and validating may only end in
a ``FairmicroError`` or in clean per-field warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairmicro.catalog.records import FileFacts, build_bundle
from fairmicro.errors import FairmicroError
from fairmicro.extractors.base import NUL_MARK, FieldWarning
from fairmicro.extractors.frame import Frame
from fairmicro.extractors.registry import choose_extractor, extract_file, registered_extractors
from fairmicro.extractors.source import open_source
from fairmicro.extractors.tescan import parse_tag
from fairmicro.extractors.vendortext import decode_text, parse_dollar_lines, parse_ini
from fairmicro.testing import samples
from fairmicro.testing import vendor_samples as vs

# derandomize: the same examples on every run, so a failure is reproducible and a pass is stable
FAST = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
IMAGE = samples.texture((48, 64))


def _tag(code: int) -> Callable[[Path, bytes], Path]:
    return lambda folder, raw: vs.write_raw_tag_tiff(folder / "tagged.tif", code, raw, IMAGE)


def _sidecar(image: str, sidecar: str) -> Callable[[Path, bytes], Path]:
    def write(folder: Path, raw: bytes) -> Path:
        path = vs.write_image(folder / image, IMAGE)
        (folder / sidecar).write_bytes(raw)
        return path

    return write


# vendor -> (a valid block as text, how it is encoded, where it goes in a file)
CASES: dict[str, tuple[str, str, Callable[[Path, bytes], Path]]] = {
    "zeiss": (samples.zeiss_block(), "latin-1", _tag(samples.ZEISS_TAG)),
    "fei": (samples.fei_block(), "latin-1", _tag(samples.FEI_TAG)),
    "tescan-tag": (vs.ini_text(vs.TESCAN_DEFAULTS), "latin-1", _tag(vs.TESCAN_TAG)),
    "tescan-hdr": (vs.ini_text(vs.TESCAN_DEFAULTS), "latin-1", _sidecar("img.png", "img-png.hdr")),
    "jeol": (vs.jeol_text({"$CM_FULL_SIZE": "64 40"}), "latin-1", _sidecar("img.bmp", "img.txt")),
    "hitachi": (vs.ini_text(vs.HITACHI_DEFAULTS), "utf-16", _sidecar("img.tif", "img.txt")),
}

NASTY = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "-0",
        "nan",
        "inf",
        "-inf",
        "1e999",
        "1e-999",
        "0x1F",
        "١٢٣",
        "10 um",
        "5 furlongs",
        "kV",
        "=",
        "[",
        "]",
        "[MAIN]",
        "$",
        "$$",
        "\x00",
        "\ufeff",
        "9" * 400,
        "1280 0",
        "0 0",
        "2024-02-30",
        "25:61:61",
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=24))


def _mutate(text: str, edits: list[tuple[str, int, str]]) -> str:
    lines = text.splitlines()
    for operation, index, value in edits:
        index %= max(len(lines), 1)
        if not lines:
            lines = [value]
        elif operation == "drop":
            del lines[index]
        elif operation == "dup":
            lines.insert(index, lines[index])
        elif operation == "value":
            key, sep, _ = lines[index].partition("=" if "=" in lines[index] else " ")
            lines[index] = f"{key}{sep or '='}{value}"
        elif operation == "cut":
            lines[index] = lines[index][: len(value)]
        else:
            lines.insert(index, value)
    return "\r\n".join(lines)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16":
        return b"\xff\xfe" + text.encode("utf-16-le", errors="replace")
    return text.encode(encoding, errors="replace")


def block_bytes(seed: str, encoding: str) -> st.SearchStrategy[bytes]:
    """Mutated copies of ``seed``, random text, truncations and random bytes."""
    edit = st.tuples(st.sampled_from(["drop", "dup", "value", "cut", "insert"]), st.integers(0, 200), VALUE)
    mutated = st.lists(edit, min_size=1, max_size=8).map(lambda edits: _mutate(seed, edits))
    truncated = st.integers(0, len(seed)).map(lambda n: seed[:n])
    texts = st.one_of(mutated, truncated, st.text(max_size=400)).map(lambda t: _encode(t, encoding))
    return st.one_of(texts, st.binary(max_size=400))


def _survives(path: Path) -> None:
    """Sniff with all, extract with the chosen one, validate: only FairmicroError may escape."""
    try:
        with open_source(path) as source:
            assert all(isinstance(e.sniff(source), bool) for e in registered_extractors())
            extractor = choose_extractor(source)
            extraction = extractor.extract(source)
        facts = FileFacts(path, "0" * 64, path.stat().st_size)
        bundle = build_bundle(extraction, facts, extractor=extractor.name, extractor_version="test")
    except FairmicroError:
        return
    assert all(isinstance(w, FieldWarning) and isinstance(w.message, str) for w in bundle.warnings)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("case", sorted(CASES))
@FAST
@given(data=st.data())
def test_vendor_block_mutations_never_crash(workdir, case, data):
    seed, encoding, write = CASES[case]
    folder = workdir / case
    folder.mkdir(exist_ok=True)
    _survives(write(folder, data.draw(block_bytes(seed, encoding), label="block")))


@pytest.mark.parametrize("code", [samples.ZEISS_TAG, samples.FEI_TAG])
def test_undecodable_vendor_block_is_read_with_a_warning(workdir, code):
    # 0x9d is undefined in cp1252, so tifffile leaves the tag as raw bytes.
    block = {
        samples.ZEISS_TAG: "0\r\nAP_WD\r\nWD = 8.5 mm\r\n\x9d",
        samples.FEI_TAG: "[EBeam]\r\nWD=0.0085\r\nHV=5000\r\n\x9d",
    }
    path = vs.write_raw_tag_tiff(workdir / f"cp1252_{code}.tif", code, block[code].encode("latin-1"), IMAGE)
    _survives(path)
    extractor, extraction = extract_file(path)
    name = extractor.name
    assert name == {samples.ZEISS_TAG: "zeiss", samples.FEI_TAG: "fei"}[code]
    assert extraction.conditions["working_distance_mm"] == 8.5
    assert any(w.slot == "vendor_metadata" and str(code) in w.message for w in extraction.warnings)


@FAST
@given(raw=st.binary(max_size=600))
def test_text_parsers_accept_any_bytes(raw):
    text = decode_text(raw)
    assert isinstance(parse_ini(text), dict)
    assert isinstance(parse_ini(text, default_section="MAIN"), dict)
    assert isinstance(parse_dollar_lines(text), dict)
    assert isinstance(parse_tag(raw, "<"), dict) and isinstance(parse_tag(raw, ">"), dict)


@FAST
@given(raw=st.one_of(st.text(max_size=30), NASTY))
def test_frame_sizes_parse_or_raise_value_error(raw):
    try:
        frame = Frame.parse(raw)
    except ValueError:
        return
    assert frame.width > 0 and frame.height > 0


@FAST
@given(edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=12))
def test_corrupted_tescan_block_layout_never_crashes(workdir, edits):
    raw = bytearray(vs.tescan_tag_bytes(vs.TESCAN_DEFAULTS))
    for position, value in edits:
        raw[position % len(raw)] = value
    _survives(vs.write_raw_tag_tiff(workdir / "blocks.tif", vs.TESCAN_TAG, bytes(raw), IMAGE))


NUL_RUN = st.sampled_from(["\x00", "\x00\x00\x00"])
_CLEAN: dict[str, dict[str, tuple[str, object]]] = {}


def _by_slot(extraction) -> dict[str, tuple[str, object]]:
    """slot -> (source key, value) of every normalised value."""
    values = {**extraction.conditions, **{s: getattr(extraction, s) for s in extraction.INSTRUMENT_SLOTS}}
    return {s.slot: (s.source_key, values[s.slot]) for s in extraction.sources}


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(inserts=st.lists(st.tuples(st.integers(0, 100_000), NUL_RUN), min_size=1, max_size=4))
def test_nul_bytes_anywhere_in_a_block_never_change_a_stored_value(workdir, case, inserts):
    """NULs may empty a slot (with a warning) or let a fallback key fill it, never alter a key's value."""
    seed, encoding, write = CASES[case]
    folder = workdir / f"nul-{case}"
    folder.mkdir(exist_ok=True)
    if case not in _CLEAN:
        _CLEAN[case] = _by_slot(extract_file(write(folder, _encode(seed, encoding)))[1])
    text = seed
    for position, run in inserts:
        at = position % (len(text) + 1)
        text = text[:at] + run + text[at:]
    _, damaged = extract_file(write(folder, _encode(text, encoding)))
    for source in damaged.sources:
        assert NUL_MARK not in source.raw_value and NUL_MARK not in source.source_key
    for slot, (key, value) in _by_slot(damaged).items():
        clean_key, clean_value = _CLEAN[case].get(slot, (None, None))
        if key == clean_key:
            assert value == clean_value, (slot, key)
