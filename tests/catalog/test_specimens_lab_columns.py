"""A lab's own specimen-table columns through the CLI: typed view columns, units, --map, refusals."""

from __future__ import annotations

import json

import pytest

from fairmicro.testing.samples import texture, write_png

PATTERN = r"(?P<specimen_id>S\d+)_"
LAB_HEADER = ["Sample", "Anneal T [°C]", "Cr [wt%]", "cool method"]
LAB_ROWS = [["S1", 800, 1.5, "air"], ["S2", 850, "2.0", "water"], ["S3", 900, None, "air"]]


def _images(folder, specimens=("S1", "S2", "S3")):
    for number, specimen in enumerate(specimens):
        write_png(folder / f"{specimen}_0.png", texture((32, 32), seed=number))
    return folder


def _csv(path, header, rows):
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _xlsx(path, header, rows):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def _ingest(cli, folder, table, *extra, check=True):
    return cli(
        "ingest", str(folder), "--specimens", str(table), "--specimen-pattern", PATTERN, "--json", *extra, check=check
    )


def _types(cli):
    rows = cli.rows("SELECT column_name, column_type FROM (DESCRIBE image_metadata)")
    return {r["column_name"]: r["column_type"] for r in rows}


def _image_count(cli):
    if not cli.catalog.exists():
        return 0
    return cli.rows("SELECT count(*) AS n FROM images")[0]["n"]


@pytest.mark.parametrize("writer", [_csv, _xlsx], ids=["csv", "xlsx"])
def test_lab_columns_are_typed_queryable_columns_of_image_metadata(cli, tmp_path, writer):
    table = writer(tmp_path / f"lab.{'csv' if writer is _csv else 'xlsx'}", LAB_HEADER, LAB_ROWS)
    _ingest(cli, _images(tmp_path / "in"), table)
    rows = cli.rows("SELECT specimen_id, anneal_t_c, cr_wt_pct, cool_method FROM image_metadata ORDER BY specimen_id")
    assert rows == [
        {"specimen_id": "S1", "anneal_t_c": 800.0, "cr_wt_pct": 1.5, "cool_method": "air"},
        {"specimen_id": "S2", "anneal_t_c": 850.0, "cr_wt_pct": 2.0, "cool_method": "water"},
        {"specimen_id": "S3", "anneal_t_c": 900.0, "cr_wt_pct": None, "cool_method": "air"},
    ]
    types = _types(cli)
    assert (types["anneal_t_c"], types["cr_wt_pct"], types["cool_method"]) == ("DOUBLE", "DOUBLE", "VARCHAR")
    recorded = cli.rows(
        "SELECT column_name, source_file, source_header, source_unit, value_type FROM specimen_columns "
        "ORDER BY column_name"
    )
    assert recorded[0] == {
        "column_name": "anneal_t_c",
        "source_file": table.name,
        "source_header": "Anneal T [°C]",
        "source_unit": "°C",
        "value_type": "number",
    }
    assert {r["column_name"]: r["source_unit"] for r in recorded} == {
        "anneal_t_c": "°C",
        "cool_method": None,
        "cr_wt_pct": "wt%",
    }


def test_hostile_and_colliding_headers_become_harmless_distinct_columns(cli, tmp_path):
    header = ["specimen_id", 'x"; DROP TABLE images;--', "detector", "select", "Label", "Notes (optional)", "Ätzzeit"]
    rows = [["S1", 1, "mine", "a", "l1", "ok", "5"], ["S2", 2, "yours", "b", "l2", 12, "6"]]
    _ingest(cli, _images(tmp_path / "in", ("S1", "S2")), _csv(tmp_path / "t.csv", header, rows))
    got = cli.rows(
        "SELECT specimen_id, detector, x_drop_table_images, lab_detector, lab_select, lab_label, "
        "notes_optional, atzzeit FROM image_metadata ORDER BY specimen_id"
    )
    assert got[0] == {
        "specimen_id": "S1",
        "detector": None,
        "x_drop_table_images": 1.0,
        "lab_detector": "mine",
        "lab_select": "a",
        "lab_label": "l1",
        "notes_optional": "ok",
        "atzzeit": 5.0,
    }
    assert got[1]["notes_optional"] == "12"  # a remark in brackets over text is part of the name, not a unit
    assert _image_count(cli) == 2
    assert cli.rows("SELECT count(*) AS n FROM images WHERE label IS NOT NULL") == [{"n": 0}]


def test_mixed_numbers_and_text_are_a_text_column_and_blanks_are_null(cli, tmp_path):
    header = ["specimen_id", "hardness", "note", "Cr [wt%]"]
    rows = [["S1", "210", "", "1.5"], ["S2", "soft", "n/a", "-"], ["S3", "", "fine", "  "]]
    _ingest(cli, _images(tmp_path / "in"), _csv(tmp_path / "t.csv", header, rows))
    got = cli.rows("SELECT hardness, note, cr_wt_pct FROM image_metadata ORDER BY specimen_id")
    assert got == [
        {"hardness": "210", "note": None, "cr_wt_pct": 1.5},
        {"hardness": "soft", "note": None, "cr_wt_pct": None},
        {"hardness": None, "note": "fine", "cr_wt_pct": None},
    ]
    assert _types(cli)["hardness"] == "VARCHAR"


def test_reingest_with_a_changed_spreadsheet_updates_values_without_duplicates(cli, tmp_path):
    folder = _images(tmp_path / "in")
    header = [*LAB_HEADER, "hardness"]
    _ingest(cli, folder, _csv(tmp_path / "t.csv", header, [[*r, 200 + i] for i, r in enumerate(LAB_ROWS)]))
    changed = [["S1", 810, 1.6, "oil", 200], ["S2", 850, 2.0, "water", "soft"], ["S3", 900, 1.0, "air", ""]]
    _ingest(cli, folder, _csv(tmp_path / "t.csv", header, changed))
    got = cli.rows(
        "SELECT anneal_t_c, cr_wt_pct, cool_method, hardness, typeof(hardness) AS type, "
        "(SELECT count(*) FROM images) AS images, (SELECT count(*) FROM specimens) AS specimens, "
        "(SELECT count(*) FROM specimen_columns) AS columns FROM image_metadata ORDER BY specimen_id"
    )
    assert [(r["anneal_t_c"], r["cr_wt_pct"], r["cool_method"], r["hardness"]) for r in got] == [
        (810.0, 1.6, "oil", "200"),
        (850.0, 2.0, "water", "soft"),
        (900.0, 1.0, "air", None),
    ]
    assert got[0]["type"] == "VARCHAR"  # "soft" made the number column text
    assert (got[0]["images"], got[0]["specimens"], got[0]["columns"]) == (3, 3, 4)


def test_duplicate_specimen_rows_that_differ_are_refused_naming_both_rows(cli, tmp_path):
    rows = [["S1", 800, 1.5, "air"], ["S2", 850, 2.0, "water"], ["S1", 800, 1.7, "air"]]
    result = _ingest(cli, _images(tmp_path / "in"), _csv(tmp_path / "dup.csv", LAB_HEADER, rows), check=False)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "dup.csv" in line and "'S1'" in line and "rows 2 and 4" in line and "Cr [wt%]" in line
    assert _image_count(cli) == 0


def test_duplicate_specimen_rows_that_are_identical_are_accepted(cli, tmp_path):
    rows = [*LAB_ROWS, ["S1", 800, 1.5, "air"]]
    _ingest(cli, _images(tmp_path / "in"), _csv(tmp_path / "dup.csv", LAB_HEADER, rows))
    assert cli.rows("SELECT count(*) AS n FROM specimens") == [{"n": 3}]


def test_a_refused_table_leaves_the_catalog_as_it_was(cli, tmp_path):
    folder = _images(tmp_path / "in")
    _ingest(cli, folder, _csv(tmp_path / "t.csv", LAB_HEADER, LAB_ROWS))
    before = cli.rows("SELECT * EXCLUDE (ingested_at) FROM image_metadata ORDER BY sha256")
    bad = [["S1", 999, 9.9, "oil"], ["S2", "hot", 2.0, "water"]]
    header = ["Sample", "Anneal T [°C]", "Cr [wt%]", "cool method"]
    result = _ingest(cli, folder, _csv(tmp_path / "bad.csv", header, bad), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: bad.csv row 3, column 'Anneal T [°C]': 'hot' is not a number; nothing was ingested"
    )
    assert cli.rows("SELECT * EXCLUDE (ingested_at) FROM image_metadata ORDER BY sha256") == before


def test_unknown_unit_is_one_line_naming_file_row_and_column(cli, tmp_path):
    header = ["specimen_id", "Anneal time [blorps]"]
    result = _ingest(cli, _images(tmp_path / "in"), _csv(tmp_path / "u.csv", header, [["S1", 3]]), check=False)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: u.csv row 1, column 'Anneal time [blorps]': unknown unit 'blorps'")
    assert _image_count(cli) == 0


def test_map_converts_units_to_the_slot_unit(cli, tmp_path):
    header = ["Sample", "anneal_time [min]", "T (°F)", "Quench", "Cr [wt%]"]
    rows = [["S1", 90, 1652, "water", 1.5]]
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("T (°F): heat_treatment_temperature_c\n", encoding="utf-8")
    _ingest(
        cli,
        _images(tmp_path / "in", ("S1",)),
        _csv(tmp_path / "t.csv", header, rows),
        "--map",
        "anneal_time [min]=heat_treatment_duration_h",
        "--map-file",
        str(mapping),
    )
    [row] = cli.rows(
        "SELECT heat_treatment_duration_h, heat_treatment_temperature_c, cooling_method, cr_wt_pct FROM image_metadata"
    )
    assert row == {
        "heat_treatment_duration_h": 1.5,
        "heat_treatment_temperature_c": 900.0,
        "cooling_method": "water_quench",
        "cr_wt_pct": 1.5,
    }
    assert "anneal_time_min" not in _types(cli)


def test_unit_matching_a_slot_name_is_converted_without_map(cli, tmp_path):
    header = ["specimen_id", "Heat treatment temperature [K]", "Etching time [min]"]
    _ingest(cli, _images(tmp_path / "in", ("S1",)), _csv(tmp_path / "t.csv", header, [["S1", 1173.15, 0.5]]))
    [row] = cli.rows("SELECT heat_treatment_temperature_c, etching_time_s FROM image_metadata")
    assert row == {"heat_treatment_temperature_c": 900.0, "etching_time_s": 30.0}
    assert cli.rows("SELECT count(*) AS n FROM specimen_columns") == [{"n": 0}]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--map", "Cr [wt%]=chromium"], "'chromium' is not a specimen slot; valid slots: specimen_id, material"),
        (["--map", "Cr [wt%]=heat_treatment_temperature_c"], "'wt%' cannot be converted to 'Cel'"),
        (["--map", "Nickel=alloy"], "--map source 'Nickel' is not a column"),
        (["--map", "no-equals-sign"], "expected SOURCE=SLOT"),
    ],
)
def test_bad_map_is_one_line_and_nothing_is_ingested(cli, tmp_path, args, fragment):
    table = _csv(tmp_path / "t.csv", LAB_HEADER, LAB_ROWS)
    result = _ingest(cli, _images(tmp_path / "in"), table, *args, check=False)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert fragment in line
    assert _image_count(cli) == 0


def test_specimen_attributes_hold_the_lab_columns_by_name(cli, tmp_path):
    _ingest(cli, _images(tmp_path / "in", ("S1",)), _csv(tmp_path / "t.csv", LAB_HEADER, LAB_ROWS[:1]))
    [row] = cli.rows("SELECT specimen_attributes FROM image_metadata")
    assert json.loads(row["specimen_attributes"]) == {"anneal_t_c": 800.0, "cool_method": "air", "cr_wt_pct": 1.5}
