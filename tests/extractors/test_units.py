from __future__ import annotations

import pytest

from fairmicro.extractors.units import convert, parse_number, parse_quantity


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (15000, "V", "kV", 15.0),
        (6.25e-12, "A", "nA", 0.00625),
        (250, "pA", "nA", 0.25),
        (0.00403466, "m", "mm", 4.03466),
        (2.677, "mm", "um", 2677.0),
        (56, "µm", "nm", 56000.0),
        (3e-7, "s", "us", 0.3),
        (100, "ns", "us", 0.1),
        (7706.35, "um", "mm", 7.70635),
        (2.0, "K X", "X", 2000.0),
        (180, "°", "deg", 180.0),
    ],
)
def test_convert(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-12)


def test_convert_refuses_mismatched_dimensions():
    with pytest.raises(ValueError, match="cannot convert"):
        convert(1.0, "V", "mm")


@pytest.mark.parametrize("raw", ["1x4.8", "", "nan", "inf", "abc", True])
def test_parse_number_rejects_garbage(raw):
    with pytest.raises(ValueError):
        parse_number(raw)


def test_parse_quantity_splits_number_and_unit():
    assert parse_quantity("15000 Volt") == (15000.0, "Volt")
    assert parse_quantity(" 7706.35 um ") == (7706.35, "um")
