"""Ingest through the real CLI: idempotence, duplicates, bad files, specimen joins, strict mode."""

from __future__ import annotations

import json
import shutil

import pytest

from fairmicro.testing.samples import (
    texture,
    write_demo_collection,
    write_fei_tiff,
    write_png,
    write_zeiss_tiff,
)

PATTERN = r"(?P<specimen_id>HC\d+)_"


def _ingest_json(cli, *args, check=True):
    result = cli("ingest", *args, "--json", check=check)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def test_demo_collection_is_ingested_with_specimens_and_labels(cli, tmp_path):
    table = write_demo_collection(tmp_path / "lab", images_per_specimen=2, shape=(48, 64))
    _, summary = _ingest_json(
        cli, str(tmp_path / "lab"), "--specimens", str(table), "--specimen-pattern", PATTERN, "--label-from-folder"
    )
    assert summary["ingested"] == 12 and summary["rejected"] == [] and summary["warnings"] == []
    rows = cli.rows(
        "SELECT specimen_id, label, label_source, material, cooling_method, "
        "heat_treatment_temperature_c, specimen_attributes FROM image_metadata WHERE specimen_id = 'HC03'"
    )
    assert len(rows) == 2
    assert {r["label"] for r in rows} == {"spheroidite"}
    assert rows[0]["label_source"] == "folder"
    assert rows[0]["cooling_method"] == "furnace_cool"
    assert rows[0]["heat_treatment_temperature_c"] == 1100.0
    assert json.loads(rows[0]["specimen_attributes"]) == {"furnace": "F1"}


def test_reingest_is_idempotent(cli, tmp_path):
    write_demo_collection(tmp_path / "lab", images_per_specimen=1, shape=(32, 32))
    _ingest_json(cli, str(tmp_path / "lab"))
    _, again = _ingest_json(cli, str(tmp_path / "lab"))
    assert (again["ingested"], again["already_present"]) == (0, 6)
    counts = cli.rows(
        "SELECT (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM imaging_conditions) AS cond, "
        "(SELECT count(*) FROM image_files) AS files"
    )
    assert counts == [{"images": 6, "cond": 6, "files": 6}]


def test_renamed_copy_is_one_image_with_two_paths(cli, tmp_path):
    original = write_zeiss_tiff(tmp_path / "in" / "a.tif")
    shutil.copy(original, tmp_path / "in" / "copy_of_a.tif")
    _, summary = _ingest_json(cli, str(tmp_path / "in"))
    assert (summary["ingested"], summary["already_present"]) == (1, 1)
    shutil.copy(original, tmp_path / "in" / "renamed_later.tif")
    _, later = _ingest_json(cli, str(tmp_path / "in"))
    assert (later["ingested"], later["already_present"]) == (0, 3)
    rows = cli.rows("SELECT count(*) AS n, count(DISTINCT image_sha256) AS shas FROM image_files")
    assert rows == [{"n": 3, "shas": 1}]
    assert cli.rows("SELECT count(*) AS n FROM image_metadata") == [{"n": 1}]


def test_changed_file_at_same_path_is_rehashed(cli, tmp_path):
    path = write_zeiss_tiff(tmp_path / "in" / "a.tif", texture((32, 32), seed=1))
    _ingest_json(cli, str(path))
    write_zeiss_tiff(path, texture((32, 32), seed=2))
    _, summary = _ingest_json(cli, str(path))
    assert summary["ingested"] == 1
    assert cli.rows("SELECT count(DISTINCT image_sha256) AS n FROM image_files") == [{"n": 1}]
    assert cli.rows("SELECT count(*) AS n FROM images") == [{"n": 2}]


BAD_FILES = {
    "empty.tif": b"",
    "notes.tif": b"this is a text file, not an image\n",
    "header_only.tif": b"II*\x00\x08\x00\x00\x00\xff\xff",
    "fake.png": b"\x89PNG\r\n\x1a\nnot really",
}


@pytest.mark.parametrize("name", [*BAD_FILES, "truncated.tif", "tags_cut.tif"])
def test_bad_file_is_reported_in_one_line_and_batch_goes_on(cli, tmp_path, name):
    folder = tmp_path / "in"
    good = write_fei_tiff(folder / "good.tif")
    bad = folder / name
    if name in ("truncated.tif", "tags_cut.tif"):
        data = write_zeiss_tiff(tmp_path / "full.tif", texture((128, 128))).read_bytes()
        # tags_cut: the file ends inside the CZ_SEM tag's value (bytes 260-971), where tifffile logs its own error
        bad.write_bytes(data[: len(data) // 2] if name == "truncated.tif" else data[:500])
    else:
        bad.write_bytes(BAD_FILES[name])
    result, summary = _ingest_json(cli, str(folder))
    assert result.returncode == 0
    assert summary["ingested"] == 1
    [rejected] = summary["rejected"]
    assert rejected["path"] == str(bad)
    assert name in rejected["reason"] and "\n" not in rejected["reason"]
    assert cli.rows("SELECT path FROM image_metadata") == [{"path": str(good)}]
    assert "Traceback" not in result.stderr and "tifffile" not in result.stderr  # the one line is the summary's


def test_nothing_ingestible_exits_non_zero(cli, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.tif").write_bytes(b"garbage")
    result, summary = _ingest_json(cli, str(tmp_path / "in"), check=False)
    assert result.returncode == 1
    assert summary["ingested"] == 0 and len(summary["rejected"]) == 1


def test_folder_without_images_is_one_clear_error(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("ingest", str(tmp_path / "empty"), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no image files")
    assert len(result.stderr.strip().splitlines()) == 1


def test_garbage_vendor_number_is_a_warning_and_empty_field(cli, tmp_path):
    path = write_zeiss_tiff(tmp_path / "in" / "z.tif", overrides={"ap_wd": ("WD", "1x4.8 mm")})
    _, summary = _ingest_json(cli, str(path))
    assert summary["ingested"] == 1
    assert any("working_distance_mm" in w and "1x4.8" in w for w in summary["warnings"])
    [row] = cli.rows("SELECT working_distance_mm, accelerating_voltage_kv, extraction_warnings FROM image_metadata")
    assert row["working_distance_mm"] is None
    assert row["accelerating_voltage_kv"] == 15.0
    assert json.loads(row["extraction_warnings"])[0]["slot"] == "working_distance_mm"


def test_strict_turns_warnings_into_rejections(cli, tmp_path):
    write_zeiss_tiff(tmp_path / "in" / "bad.tif", overrides={"ap_wd": ("WD", "1x4.8 mm")})
    write_zeiss_tiff(tmp_path / "in" / "good.tif", texture((32, 32), seed=5))
    result, summary = _ingest_json(cli, str(tmp_path / "in"), "--strict", check=False)
    assert result.returncode == 1
    assert summary["ingested"] == 1
    assert summary["rejected"][0]["path"].endswith("bad.tif")


def test_specimen_join_misses_are_reported_not_fatal(cli, tmp_path):
    folder = tmp_path / "in"
    write_zeiss_tiff(folder / "HC01_0001.tif", texture((32, 32), seed=1))
    write_zeiss_tiff(folder / "HC99_0001.tif", texture((32, 32), seed=2))
    write_zeiss_tiff(folder / "unnamed.tif", texture((32, 32), seed=3))
    table = tmp_path / "specimens.csv"
    table.write_text("specimen_id,material\nHC01,UHCS\n", encoding="utf-8")
    result, summary = _ingest_json(cli, str(folder), "--specimens", str(table), "--specimen-pattern", PATTERN)
    assert result.returncode == 0 and summary["ingested"] == 3
    assert any("HC99" in w and "specimens.csv" in w for w in summary["warnings"])
    assert any("unnamed.tif" in w and "does not match" in w for w in summary["warnings"])
    rows = {r["specimen_id"]: r["material"] for r in cli.rows("SELECT specimen_id, material FROM image_metadata")}
    assert rows == {"HC01": "UHCS", "HC99": None, None: None}


def _xlsx_table(tmp_path, etching_b):
    import openpyxl

    folder = tmp_path / "in"
    write_png(folder / "img_a.png", texture((32, 32), seed=1))
    write_png(folder / "img_b.png", texture((32, 32), seed=2))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["File Name", "Specimen ID", "Phase", "Etchant", "Etching time (s)", "Operator note"])
    sheet.append(["img_a.png", "S1", "bainite", "Nital 2%", 12, "ok"])
    sheet.append(["img_b.png", "S2", "pearlite", "Picral", etching_b, None])
    book.save(tmp_path / "table.xlsx")
    return folder, tmp_path / "table.xlsx"


def test_xlsx_table_with_file_column_and_label_column(cli, tmp_path):
    folder, table = _xlsx_table(tmp_path, etching_b=None)
    _, summary = _ingest_json(cli, str(folder), "--specimens", str(table), "--label-column", "Phase")
    assert summary["ingested"] == 2
    rows = cli.rows(
        "SELECT specimen_id, label, label_source, etchant, etching_time_s, specimen_attributes, operator_note "
        "FROM image_metadata ORDER BY specimen_id"
    )
    assert [(r["specimen_id"], r["label"], r["label_source"]) for r in rows] == [
        ("S1", "bainite", "table"),
        ("S2", "pearlite", "table"),
    ]
    assert rows[0]["etching_time_s"] == 12.0 and rows[1]["etching_time_s"] is None
    assert json.loads(rows[0]["specimen_attributes"]) == {"operator_note": "ok"}
    assert [r["operator_note"] for r in rows] == ["ok", None]


def test_unparseable_number_in_a_slot_column_is_one_line_and_nothing_is_ingested(cli, tmp_path):
    folder, table = _xlsx_table(tmp_path, etching_b="twelve")
    result = cli("ingest", str(folder), "--specimens", str(table), "--label-column", "Phase", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: table.xlsx row 3, column 'Etching time (s)': 'twelve' is not a number; nothing was ingested"
    ]
    assert not cli.catalog.exists() or cli.rows("SELECT count(*) AS n FROM images") == [{"n": 0}]


def test_labels_are_filled_on_reingest_but_never_overwritten(cli, tmp_path):
    path = write_fei_tiff(tmp_path / "martensite" / "a.tif")
    _ingest_json(cli, str(path))
    _ingest_json(cli, str(path), "--label-from-folder")
    assert cli.rows("SELECT label FROM image_metadata") == [{"label": "martensite"}]
    moved = tmp_path / "bainite" / "a.tif"
    moved.parent.mkdir()
    shutil.copy(path, moved)
    _ingest_json(cli, str(moved), "--label-from-folder")
    assert cli.rows("SELECT label FROM image_metadata") == [{"label": "martensite"}]


def test_specimen_table_without_id_column_is_one_clear_error(cli, tmp_path):
    write_png(tmp_path / "in" / "a.png")
    table = tmp_path / "bad.csv"
    table.write_text("name,alloy\nx,y\n", encoding="utf-8")
    result = cli("ingest", str(tmp_path / "in"), "--specimens", str(table), check=False)
    assert result.returncode == 1
    assert "bad.csv" in result.stderr and "specimen_id" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_field_trail_is_queryable(cli, tmp_path):
    write_fei_tiff(tmp_path / "in" / "f.tif")
    _ingest_json(cli, str(tmp_path / "in"))
    rows = cli.rows("SELECT source_key, raw_value, conversion FROM field_sources WHERE slot_name = 'beam_current_na'")
    assert rows == [{"source_key": "EBeam/BeamCurrent", "raw_value": "1.3e-10", "conversion": "A -> nA"}]
