"""A plugin extractor whose records the schema refuses: that file is rejected in one line, the batch goes on."""

from __future__ import annotations

from typing import ClassVar

import pytest

from fairmicro.catalog import Catalog
from fairmicro.catalog.ingest import IngestOptions, Ingestor
from fairmicro.extractors.base import Extractor, FieldSource
from fairmicro.extractors.generic import GenericExtractor
from fairmicro.extractors.source import base_extraction
from fairmicro.testing.samples import texture, write_zeiss_tiff


class Careless(Extractor):
    """Claims files named ``bad_*`` and fills them with values of the wrong type."""

    name: ClassVar[str] = "careless"
    priority: ClassVar[int] = 1000
    what: ClassVar[str] = "source"

    def sniff(self, source):
        return source.path.name.startswith("bad_")

    def extract(self, source):
        extraction = base_extraction(source)
        if self.what == "source":
            extraction.sources.append(FieldSource("detector", "Det", 15, "none"))  # raw_value must be text
        elif self.what == "vendor":
            extraction.vendor = 7  # not text: also no instrument id can be made of it
        else:
            extraction.vendor = b"Acme"  # bytes: pydantic makes text of them
        return extraction


@pytest.mark.parametrize(
    ("what", "cause"), [("source", "field trail invalid"), ("vendor", "instrument record invalid")]
)
def test_refused_records_reject_only_their_file(tmp_path, monkeypatch, what, cause):
    monkeypatch.setattr(Careless, "what", what)
    good = write_zeiss_tiff(tmp_path / "in" / "good.tif", texture((32, 40), seed=1))
    bad = write_zeiss_tiff(tmp_path / "in" / "bad_1.tif", texture((32, 40), seed=2))
    extractors = (Careless(), GenericExtractor())
    with Catalog.open(tmp_path / "c.duckdb") as catalog:
        summary = Ingestor(catalog, IngestOptions(), extractors=extractors).run([bad, good])
        rows = catalog.query("SELECT path FROM images").rows
        instruments = catalog.query("SELECT count(*) FROM instruments").rows[0][0]
        trail = catalog.query("SELECT count(*) FROM field_sources WHERE source_key = 'Det'").rows[0][0]
    assert summary.ingested == 1
    assert [path for path, _ in summary.rejected] == [str(bad)]
    reason = summary.rejected[0][1]
    assert reason.startswith(f"{bad}: {cause}: ") and "\n" not in reason
    assert rows == [(str(good),)] and instruments == 0 and trail == 0


def test_instrument_id_is_made_of_the_validated_text(tmp_path, monkeypatch):
    monkeypatch.setattr(Careless, "what", "bytes")
    bad = write_zeiss_tiff(tmp_path / "in" / "bad_2.tif", texture((32, 40), seed=3))
    with Catalog.open(tmp_path / "c.duckdb") as catalog:
        summary = Ingestor(catalog, IngestOptions(), extractors=(Careless(),)).run([bad])
        rows = catalog.query("SELECT i.vendor, i.instrument_id = m.instrument_id FROM instruments i, images m").rows
    from fairmicro.catalog.records import instrument_id

    assert summary.ingested == 1
    assert rows == [("Acme", True)]
    with Catalog.open(tmp_path / "c.duckdb") as catalog:
        (stored,) = catalog.query("SELECT instrument_id FROM instruments").rows[0]
    assert stored == instrument_id("Acme", None, None)
