"""The conformance kit over every registered extractor, and the kit's own teeth."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from fairmicro.extractors.base import Extraction, Extractor, FieldMap, SourceFile, text
from fairmicro.extractors.generic import GenericExtractor
from fairmicro.extractors.registry import choose_extractor, registered_extractors
from fairmicro.extractors.source import base_extraction, open_source
from fairmicro.testing.conformance import ConformanceError, check_extractor, write_corpus

EXTRACTORS = registered_extractors()
REAL_SAMPLES = (
    "jeol/image000.tif",
    "olympus/olympus_SIS.tif",
    "zeiss/test_tiff_Zeiss_SEM_1k.tif",
    "fei/FEI-Helios-Ebeam-8bits.tif",
    "thermofisher/SEM_Image-SliceImage-001.tif",
    "imagej/test_loading_image_saved_with_imageJ.tif",
)
# corpus case -> the extractor that must win it (cases not listed must not crash anyone)
OWNER = {
    "zeiss": "zeiss",
    "fei": "fei",
    "imagej": "generic",
    "png": "generic",
    "tescan": "tescan",
    "tescan_ini": "tescan",
    "tescan_hdr": "tescan",
    "jeol": "jeol",
    "jeol_bmp": "jeol",
    "hitachi": "hitachi",
    "hitachi_ascii": "hitachi",
    "olympus": "olympus",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_every_registered_extractor_conforms_on_the_corpus(extractor, corpus):
    claimed = check_extractor(extractor, corpus.values())
    own = {case for case, owner in OWNER.items() if owner == extractor.name}
    assert own <= {case for case, path in corpus.items() if path in claimed}


@pytest.mark.real_data
@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_every_registered_extractor_conforms_on_the_real_samples(extractor, real_tiffs):
    check_extractor(extractor, [real_tiffs / name for name in REAL_SAMPLES])


@pytest.mark.parametrize(("case", "owner"), sorted(OWNER.items()))
def test_registry_hands_each_layout_to_its_extractor(corpus, case, owner):
    with open_source(corpus[case]) as source:
        assert choose_extractor(source).name == owner


def test_vendor_extractors_outrank_the_generic_fallback():
    assert {e.name for e in EXTRACTORS} >= {
        "zeiss",
        "fei",
        "tescan",
        "jeol",
        "hitachi",
        "olympus",
        "generic",
    }
    assert EXTRACTORS[-1].name == "generic"


# ----------------------------------------------------------- the kit has teeth


class _Broken(GenericExtractor):
    name: ClassVar[str] = "broken"


class _SniffRaises(_Broken):
    def sniff(self, source: SourceFile) -> bool:
        raise RuntimeError("boom")


class _SniffNotBool(_Broken):
    def sniff(self, source: SourceFile) -> bool:
        return "yes"  # type: ignore[return-value]


class _BadMapping(_Broken):
    mapping = (FieldMap("favourite_colour", "Colour", text()),)


class _ExtractCrashes(_Broken):
    def extract(self, source: SourceFile) -> Extraction:
        return {}["missing"]


class _LeaksHandle(_Broken):
    def extract(self, source: SourceFile) -> Extraction:
        self.leaked = source.path.open("rb")  # never closed
        return base_extraction(source)


class _NonSchemaValue(_Broken):
    def extract(self, source: SourceFile) -> Extraction:
        extraction = base_extraction(source)
        extraction.conditions["favourite_colour"] = "blue"
        return extraction


class _InvalidImage(_Broken):
    def extract(self, source: SourceFile) -> Extraction:
        extraction = base_extraction(source)
        extraction.width_px = "wide"  # type: ignore[assignment]
        return extraction


class _PageOutOfRange(_Broken):
    def extract(self, source: SourceFile) -> Extraction:
        extraction = base_extraction(source)
        extraction.page_index = 3
        return extraction


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (_SniffRaises, "sniff raised RuntimeError"),
        (_SniffNotBool, "not a bool"),
        (_BadMapping, "not schema slots"),
        (_ExtractCrashes, "extract raised KeyError"),
        (_LeaksHandle, "file handle(s) left open"),
        (_NonSchemaValue, "non-schema slots"),
        (_InvalidImage, "do not validate"),
    ],
)
def test_kit_reports_each_breach(tmp_path, broken: type[Extractor], message):
    files = [write_corpus(tmp_path)["png"]]
    with pytest.raises(ConformanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_extractor(broken(), files)


def test_kit_reports_a_page_that_does_not_exist(corpus):
    with pytest.raises(ConformanceError, match="page_index 3 outside 1 pages"):
        check_extractor(_PageOutOfRange(), [corpus["zeiss"]])


DOCS = Path(__file__).resolve().parents[2] / "docs" / "extractors.md"


@pytest.mark.parametrize(
    "extractor",
    [e for e in EXTRACTORS if f"(`{e.name}`)" in DOCS.read_text()],
    ids=lambda e: e.name,
)
def test_docs_name_every_mapped_key_and_slot(extractor):
    section = DOCS.read_text().split(f"(`{extractor.name}`)", 1)[1].split("\n## ", 1)[0]
    for row in extractor.mapping:
        keys = row.key if isinstance(row.key, tuple) else (row.key,)
        missing = [name for name in (*keys, row.slot) if f"`{name}`" not in section]
        assert not missing, f"docs/extractors.md, {extractor.name}: {missing} not documented"
