"""Every registered extractor honours the contract: mapping targets are schema slots, sniff never raises."""

from __future__ import annotations

import pytest

from fairmicro.extractors.base import SourceFile, mapping_slots
from fairmicro.extractors.registry import registered_extractors
from fairmicro.extractors.source import open_source
from fairmicro.schema import models
from fairmicro.testing.samples import write_fei_tiff, write_png, write_zeiss_tiff

SCHEMA_SLOTS = set(models.ImagingConditions.model_fields) | set(models.Instrument.model_fields)
EXTRACTORS = registered_extractors()


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_mapping_targets_are_schema_slots(extractor):
    assert mapping_slots(extractor.mapping) <= SCHEMA_SLOTS


def test_generic_fallback_is_tried_last():
    assert EXTRACTORS[-1].name == "generic"
    assert [e.priority for e in EXTRACTORS] == sorted((e.priority for e in EXTRACTORS), reverse=True)


@pytest.mark.parametrize("extractor", EXTRACTORS, ids=lambda e: e.name)
def test_sniff_never_raises(extractor, tmp_path):
    files = [write_zeiss_tiff(tmp_path / "z.tif"), write_fei_tiff(tmp_path / "f.tif"), write_png(tmp_path / "p.png")]
    for path in files:
        with open_source(path) as source:
            assert isinstance(extractor.sniff(source), bool)
    assert extractor.sniff(SourceFile(path=tmp_path / "none", file_format="tiff")) in (True, False)


@pytest.mark.parametrize(("writer", "expected"), [(write_zeiss_tiff, "zeiss"), (write_fei_tiff, "fei"), (write_png, "generic")])
def test_each_vendor_file_is_claimed_by_its_extractor(tmp_path, writer, expected):
    path = writer(tmp_path / ("x.png" if writer is write_png else "x.tif"))
    with open_source(path) as source:
        assert [e.name for e in EXTRACTORS if e.sniff(source)][0] == expected
