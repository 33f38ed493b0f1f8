"""The extractor conformance kit: the contract every registered extractor must honour.

``check_extractor(extractor, files)`` runs an extractor over any files (vendor
samples, other vendors' files, garbage) and collects every breach of the
contract:

- ``name`` is a non-empty string, ``priority`` an int, and every mapping
  target is a schema slot (``ImagingConditions`` or ``Instrument`` field);
- ``sniff`` returns a bool and never raises, on every file, also on files that
  cannot be opened at all;
- on a claimed file, ``extract`` either raises a ``FairmicroError`` (an
  expected, explained failure) or returns an extraction whose values sit in
  schema slots, whose per-field trail names only filled slots, whose page
  exists and whose pixels decode, and which validates through
  ``fairmicro.catalog.records.build_bundle``;
- no file handle is left open (counted in ``/proc/self/fd`` where it exists).

``write_corpus(folder)`` writes one file of every built-in layout plus
adversarial files, for running the kit without real samples.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from fairmicro.errors import FairmicroError
from fairmicro.extractors.base import Extraction, Extractor, SourceFile, mapping_slots
from fairmicro.extractors.source import open_source, verify_pixels
from fairmicro.schema import models

SCHEMA_SLOTS = frozenset(models.ImagingConditions.model_fields) | frozenset(models.Instrument.model_fields)
FD_DIR = Path("/proc/self/fd")


class ConformanceError(AssertionError):
    """An extractor broke the contract; the message lists every breach."""


def check_extractor(extractor: Extractor, files: Iterable[Path]) -> list[Path]:
    """Check ``extractor`` against the contract on ``files``.

    Returns
    -------
    list of Path
        The files the extractor claimed and extracted into valid records.

    Raises
    ------
    ConformanceError
        Listing every breach found.
    """
    problems = _declaration_problems(extractor)
    claimed: list[Path] = []
    for path in files:
        before = _open_handles()
        ok = _check_file(extractor, Path(path), problems)
        after = _open_handles()
        if before is not None and after is not None and after > before:
            problems.append(f"{Path(path).name}: {after - before} file handle(s) left open")
        if ok:
            claimed.append(Path(path))
    if problems:
        raise ConformanceError(f"extractor {extractor.name!r}: " + "; ".join(problems))
    return claimed


def _declaration_problems(extractor: Extractor) -> list[str]:
    problems = []
    if not isinstance(extractor.name, str) or not extractor.name:
        problems.append("name must be a non-empty string")
    if not isinstance(extractor.priority, int) or isinstance(extractor.priority, bool):
        problems.append(f"priority {extractor.priority!r} is not an int")
    unknown = mapping_slots(extractor.mapping) - SCHEMA_SLOTS
    if unknown:
        problems.append(f"mapping targets {sorted(unknown)} are not schema slots")
    return problems


def _open_handles() -> int | None:
    try:
        return len(os.listdir(FD_DIR))
    except OSError:
        return None


def _sniff(extractor: Extractor, source: SourceFile, problems: list[str]) -> bool:
    try:
        answer = extractor.sniff(source)
    except Exception as exc:  # noqa: BLE001 - the contract: sniff never raises, whatever a plugin does
        problems.append(f"{source.path.name}: sniff raised {type(exc).__name__}: {exc}")
        return False
    if not isinstance(answer, bool):
        problems.append(f"{source.path.name}: sniff returned {answer!r}, not a bool")
    return answer is True


def _check_file(extractor: Extractor, path: Path, problems: list[str]) -> bool:
    """Sniff, extract and validate one file; True when it was claimed and gave valid records."""
    try:
        with open_source(path) as source:
            extraction = _claim(extractor, source, problems)
    except FairmicroError:  # not an image at all: sniff must still answer
        _sniff(extractor, SourceFile(path=path, file_format="tiff"), problems)
        return False
    return extraction is not None and _valid(extraction, path, extractor, problems)


def _claim(extractor: Extractor, source: SourceFile, problems: list[str]) -> Extraction | None:
    """The extraction of a file the extractor claims and can read, else ``None``."""
    if not _sniff(extractor, source, problems):
        return None
    try:
        extraction = extractor.extract(source)
        if not 0 <= extraction.page_index < max(extraction.page_count, 1):
            problems.append(
                f"{source.path.name}: page_index {extraction.page_index} outside {extraction.page_count} pages"
            )
            return None
        verify_pixels(source, extraction.page_index)
    except FairmicroError:  # an explained failure is allowed
        return None
    except Exception as exc:  # noqa: BLE001 - anything else is a crash, reported as a problem
        problems.append(f"{source.path.name}: extract raised {type(exc).__name__}: {exc}")
        return None
    return extraction


def _valid(extraction: Extraction, path: Path, extractor: Extractor, problems: list[str]) -> bool:
    from fairmicro.catalog.records import FileFacts, build_bundle

    before = len(problems)
    stray = set(extraction.conditions) - SCHEMA_SLOTS
    if stray:
        problems.append(f"{path.name}: values in non-schema slots {sorted(stray)}")
    untraced = {s.slot for s in extraction.sources if not extraction.has(s.slot)}
    if untraced:
        problems.append(f"{path.name}: trail names empty slots {sorted(untraced)}")
    facts = FileFacts(path, hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    try:
        build_bundle(extraction, facts, extractor=extractor.name, extractor_version=extractor.version)
    except FairmicroError as exc:
        problems.append(f"{path.name}: records do not validate: {exc}")
    return len(problems) == before


def write_corpus(folder: Path) -> dict[str, Path]:
    """One file of every built-in layout plus adversarial files; ``{case name: image path}``."""
    from fairmicro.testing import samples, vendor_samples

    folder.mkdir(parents=True, exist_ok=True)
    corpus = {
        "zeiss": samples.write_zeiss_tiff(folder / "zeiss.tif"),
        "fei": samples.write_fei_tiff(folder / "fei.tif"),
        "imagej": samples.write_imagej_tiff(folder / "imagej.tif", 0.05),
        "png": samples.write_png(folder / "plain.png"),
        "tescan": vendor_samples.write_tescan_tiff(folder / "tescan_blocks.tif"),
        "tescan_ini": vendor_samples.write_tescan_tiff(folder / "tescan_ini.tif", layout="ini", strip_rows=8),
        "tescan_hdr": vendor_samples.write_tescan_pair(folder / "tescan_pair.png"),
        "jeol": vendor_samples.write_jeol_pair(folder / "jeol.tif"),
        "jeol_bmp": vendor_samples.write_jeol_pair(folder / "jeol_bmp.bmp"),
        "hitachi": vendor_samples.write_hitachi_pair(folder / "hitachi.tif"),
        "hitachi_ascii": vendor_samples.write_hitachi_pair(folder / "hitachi_ascii.jpg", encoding="ascii"),
        "olympus": vendor_samples.write_olympus_sis_tiff(folder / "olympus.tif"),
    }
    corpus.update(_adversarial(folder))
    return corpus


def _adversarial(folder: Path) -> dict[str, Path]:
    from fairmicro.testing import samples, vendor_samples

    garbage = folder / "garbage.tif"
    garbage.write_bytes(bytes(range(256)) * 4)
    empty = folder / "empty.tif"
    empty.write_bytes(b"")
    truncated = folder / "truncated.tif"
    truncated.write_bytes(samples.write_zeiss_tiff(folder / "whole.tif").read_bytes()[:2000])
    (folder / "whole.tif").unlink()
    binary_sidecar = vendor_samples.write_image(folder / "binary_sidecar.tif", samples.texture((32, 32)))
    binary_sidecar.with_suffix(".txt").write_bytes(b"$CM_MAG \xff\xfe\x00" + bytes(range(256)))
    odd_utf16 = vendor_samples.write_hitachi_pair(folder / "odd_utf16.tif")
    odd_utf16.with_suffix(".txt").write_bytes(odd_utf16.with_suffix(".txt").read_bytes()[:-1])
    header_only = vendor_samples.write_tescan_pair(folder / "header_only.tif", hdr_text="[MAIN]\r\n")
    noise = bytes(range(7, 256, 3)) * 3
    bad_tag = vendor_samples.write_raw_tag_tiff(
        folder / "bad_tag.tif", 50431, b"\x09\x00\x00\x00\x02\x00PixelSizeX=" + noise
    )
    return {
        "garbage": garbage,
        "empty": empty,
        "truncated": truncated,
        "binary_sidecar": binary_sidecar,
        "odd_utf16": odd_utf16,
        "header_only": header_only,
        "bad_tag": bad_tag,
    }
