"""`fairmicro query`: read-only by default, formats, one-line errors."""

from __future__ import annotations

import csv
import datetime
import io
import json

import pytest

from fairmicro.testing.samples import write_fei_tiff, write_zeiss_tiff

REQUIRED_VIEW_COLUMNS = [
    "sha256",
    "path",
    "file_format",
    "width_px",
    "height_px",
    "bit_depth",
    "vendor",
    "instrument_model",
    "instrument_serial",
    "detector",
    "accelerating_voltage_kv",
    "beam_current_na",
    "working_distance_mm",
    "dwell_time_us",
    "magnification",
    "horizontal_field_width_um",
    "pixel_size_x_nm",
    "pixel_size_y_nm",
    "acquired_at",
    "specimen_id",
    "label",
    "extractor",
    "material",
    "alloy",
    "composition",
    "heat_treatment_temperature_c",
    "heat_treatment_duration_h",
    "cooling_method",
    "etchant",
    "etching_time_s",
]


@pytest.fixture
def filled(cli, tmp_path):
    write_zeiss_tiff(tmp_path / "in" / "z.tif")
    write_fei_tiff(tmp_path / "in" / "f.tif")
    cli("ingest", str(tmp_path / "in"))
    return cli


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM images",
        "UPDATE images SET label = 'x'",
        "DROP VIEW image_metadata",
        "INSERT INTO specimens (specimen_id) VALUES ('S')",
        "COPY images TO 'out.csv'",
        "SELECT 1; DELETE FROM images",
        "ATTACH 'other.duckdb'",
    ],
)
def test_write_statements_are_refused(filled, sql):
    result = filled("query", sql, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: refused:") and "--write" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert filled.rows("SELECT count(*) AS n FROM images") == [{"n": 2}]


def test_write_flag_allows_changes(filled):
    filled("query", "UPDATE images SET label = 'checked'", "--write")
    assert filled.rows("SELECT DISTINCT label FROM image_metadata") == [{"label": "checked"}]


def test_image_metadata_view_has_documented_columns_and_types(filled):
    rows = filled.rows(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'image_metadata'"
    )
    types = {r["column_name"]: r["data_type"] for r in rows}
    assert set(REQUIRED_VIEW_COLUMNS) <= set(types)
    assert types["acquired_at"] == "TIMESTAMP"
    assert types["accelerating_voltage_kv"] == "DOUBLE"


def test_csv_and_json_formats(filled):
    csv_out = filled(
        "query", "SELECT vendor, accelerating_voltage_kv FROM image_metadata ORDER BY vendor", "--format", "csv"
    ).stdout
    assert list(csv.reader(io.StringIO(csv_out))) == [
        ["vendor", "accelerating_voltage_kv"],
        ["FEI", "20.0"],
        ["Zeiss", "15.0"],
    ]
    records = json.loads(
        filled("query", "SELECT vendor, acquired_at FROM image_metadata ORDER BY vendor", "--format", "json").stdout
    )
    assert records == [
        {"vendor": "FEI", "acquired_at": "2025-03-14T14:05:09"},
        {"vendor": "Zeiss", "acquired_at": "2025-03-14T10:21:07"},
    ]


def test_table_format_is_not_squeezed_in_a_pipe(filled):
    out = filled("query", "SELECT path, instrument_model FROM image_metadata").stdout
    assert "Quanta 650 FEG" in out and "2 row(s)" in out


def test_group_by_query_from_the_issue(filled):
    rows = filled.rows(
        "SELECT detector, count(*) AS n, avg(accelerating_voltage_kv) AS kv FROM image_metadata GROUP BY 1 ORDER BY 1"
    )
    assert rows == [{"detector": "ETD", "n": 1, "kv": 20.0}, {"detector": "InLens", "n": 1, "kv": 15.0}]


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [("SELECT nope FROM image_metadata", "nope"), ("SELEKT 1", "parse"), ("", "empty")],
)
def test_bad_sql_is_one_clear_line(filled, sql, fragment):
    result = filled("query", sql, check=False)
    assert result.returncode == 1
    assert fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_catalog_is_one_clear_line(cli):
    result = cli("query", "SELECT 1", check=False)
    assert result.returncode == 1
    assert "no catalog here" in result.stderr and str(cli.catalog) in result.stderr


def test_unknown_format_is_refused(filled):
    result = filled("query", "SELECT 1", "--format", "xml", check=False)
    assert result.returncode == 1 and "--format" in result.stderr


def test_debug_shows_the_traceback(filled):
    result = filled("--debug", "query", "DELETE FROM images", check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_now_and_current_date_work_in_every_format(filled, output_format):
    """`SELECT now()` used to fail for want of pytz (TIMESTAMP WITH TIME ZONE results)."""
    result = filled("query", "SELECT now() AS t, current_date AS d", "--format", output_format)
    year = str(datetime.date.today().year)
    assert year in result.stdout and "error" not in result.stderr
    if output_format == "json":
        [row] = json.loads(result.stdout)
        stamp = datetime.datetime.fromisoformat(row["t"])
        assert stamp.tzinfo is not None
        assert abs(stamp - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(minutes=10)
        assert datetime.date.fromisoformat(row["d"])
    if output_format == "csv":
        assert next(csv.reader(io.StringIO(result.stdout))) == ["t", "d"]
