"""The records ingest writes accept, convert and reject exactly what the pydantic models do."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairmicro.schema import ingest_records, models
from fairmicro.schema.generate import INGEST_CLASSES

VALID = {
    "Instrument": {"instrument_id": "abc", "vendor": "Zeiss", "instrument_model": "Sigma", "instrument_serial": "1"},
    "ImagingConditions": {
        "image_sha256": "a" * 64,
        "accelerating_voltage_kv": 15.0,
        "acquired_at": "2024-01-02T03:04:05",
    },
    "Image": {
        "sha256": "a" * 64,
        "path": "/x/a.tif",
        "file_format": "tiff",
        "width_px": 10,
        "height_px": 12,
        "bit_depth": 8,
        "channels": 1,
        "extractor": "zeiss",
        "extractor_version": "1",
        "label": "ferrite",
        "label_source": "folder",
    },
    "ImageFile": {"path": "/x/a.tif", "image_sha256": "a" * 64, "size_bytes": 5, "modified_at": datetime(2024, 1, 2)},
    "FieldSource": {"image_sha256": "a" * 64, "slot_name": "detector", "source_key": "EBeam/HV", "raw_value": "15"},
}
ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**70,
    1.0,
    1.5,
    -0.5,
    math.nan,
    math.inf,
    "",
    "1",
    "1.5",
    "-2",
    " 3 ",
    "1e3",
    "nan",
    "abc",
    "tiff",
    "TIFF",
    "folder",
    "2024-01-02",
    "2024-01-02T03:04:05.1234567",
    "2024-13-40",
    b"bytes",
    b"\xff",
    bytearray(b"x"),
    Decimal("2.5"),
    Decimal(3),
    date(2024, 1, 2),
    datetime(2024, 1, 2, 3, 4, 5, 123456),
    1_700_000_000,
    [1],
    {"a": 1},
    models.FileFormat.png,
    models.LabelSource.manual,
    ingest_records.FileFormat.bmp,
    object(),
]


def _outcome(cls: type, values: dict) -> tuple[str, object]:
    try:
        record = cls(**values)
    except pydantic.ValidationError as exc:  # pydantic_core's ValidationError, for both
        return "rejected", [(e["type"], e["loc"], e["msg"], repr(e.get("input"))) for e in exc.errors()]
    return "accepted", (_plain(record.model_dump()), sorted(record.model_fields_set))


def _plain(dump: dict) -> dict:
    return {k: repr(v) for k, v in dump.items()}  # NaN == NaN, and types (int vs float) count


def _same(name: str, values: dict) -> None:
    ours = _outcome(getattr(ingest_records, name), values)
    theirs = _outcome(getattr(models, name), values)
    assert ours == theirs, f"{name}({values!r})"


def test_every_ingest_class_has_the_models_fields_in_order():
    for name in INGEST_CLASSES:
        assert list(getattr(ingest_records, name).model_fields) == list(getattr(models, name).model_fields)


@pytest.mark.parametrize("name", INGEST_CLASSES)
def test_valid_records_equal(name):
    assert _outcome(getattr(ingest_records, name), VALID[name])[0] == "accepted"
    _same(name, VALID[name])
    assert getattr(ingest_records, name)(**VALID[name]) == getattr(ingest_records, name)(**VALID[name])


@pytest.mark.parametrize("name", INGEST_CLASSES)
def test_each_field_given_each_odd_value_is_accepted_or_rejected_alike(name):
    for field in getattr(models, name).model_fields:
        for value in ODD_VALUES:
            _same(name, {**VALID[name], field: value})


@pytest.mark.parametrize("name", INGEST_CLASSES)
def test_missing_fields_and_extra_fields_alike(name):
    for field in getattr(models, name).model_fields:
        _same(name, {k: v for k, v in VALID[name].items() if k != field})
    _same(name, {**VALID[name], "not_a_slot": 1})
    _same(name, {})


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_records_alike(data):
    name = data.draw(st.sampled_from(INGEST_CLASSES))
    fields = list(getattr(models, name).model_fields)
    chosen = data.draw(st.dictionaries(st.sampled_from(fields), st.sampled_from(ODD_VALUES), max_size=len(fields)))
    _same(name, {**VALID[name], **chosen})


@pytest.mark.parametrize("value", [datetime(2024, 5, 6), "2024-05-06T07:08:09", "not a time", -5, None, [1]])
def test_assignment_is_validated_alike(value):
    ours = ingest_records.Image(**VALID["Image"])
    theirs = models.Image(**VALID["Image"])
    outcomes = []
    for record in (ours, theirs):
        try:
            record.ingested_at = value
        except pydantic.ValidationError as exc:
            outcomes.append([(e["type"], e["loc"], e["msg"]) for e in exc.errors()])
        else:
            outcomes.append((repr(record.ingested_at), sorted(record.model_fields_set)))
    assert outcomes[0] == outcomes[1]
    assert ours.model_dump().keys() == theirs.model_dump().keys()


@pytest.mark.parametrize("name", INGEST_CLASSES)
def test_records_pickle_and_copy(name):
    """Worker processes send records back pickled."""
    import copy
    import pickle

    record = getattr(ingest_records, name)(**VALID[name])
    for clone in (pickle.loads(pickle.dumps(record)), copy.deepcopy(record), copy.copy(record)):
        assert clone == record and clone.model_dump() == record.model_dump()
        assert clone.model_fields_set == record.model_fields_set


def test_unknown_attribute_cannot_be_set():
    record = ingest_records.FieldSource(**VALID["FieldSource"])
    with pytest.raises(pydantic.ValidationError):
        record.not_a_slot = 1
    assert "not_a_slot" not in record.model_dump()


def test_an_ingest_imports_no_pydantic(tmp_path):
    """Ingest validates through ingest_records: neither pydantic nor the whole model graph is imported."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fairmicro.catalog import Catalog\n"
        "from fairmicro.catalog.ingest import ingest\n"
        "tmp = Path(sys.argv[1])\n"
        "path = tmp / 'a.tif'\n"
        "with Catalog.open(tmp / 'c.duckdb') as catalog:\n"
        "    assert ingest(catalog, [path]).ingested == 1\n"
        "print(sorted(m for m in sys.modules if m == 'pydantic' or m.startswith('pydantic.')))\n"
    )
    from fairmicro.testing.samples import texture, write_zeiss_tiff  # imports pydantic: not in the child

    write_zeiss_tiff(tmp_path / "a.tif", texture((64, 80), seed=1))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
