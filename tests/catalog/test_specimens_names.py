"""Lab-column names and units, and the table reader's refusals (in process: no catalog needed)."""

from __future__ import annotations

import pytest

from fairmicro.catalog import lab_columns
from fairmicro.catalog.specimens import load_specimen_table, parse_mapping
from fairmicro.errors import SpecimenTableError


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("anneal_time [min]", ("anneal_time", "min")),
        ("Cr [wt%]", ("Cr", "wt%")),
        ("T (°C)", ("T", "°C")),
        ("Hardness [HV10]", ("Hardness", "HV10")),
        ("cool method", ("cool method", None)),
        ("[min]", ("[min]", None)),
        ("x [a] y", ("x [a] y", None)),
    ],
)
def test_unit_in_brackets_is_split_from_the_header(header, expected):
    assert lab_columns.split_unit(header) == expected


@pytest.mark.parametrize(
    ("header", "unit", "name"),
    [
        ("anneal_time", "min", "anneal_time_min"),
        ("Cr", "wt%", "cr_wt_pct"),
        ("Anneal T", "°C", "anneal_t_c"),
        ('x"; DROP TABLE images;--', None, "x_drop_table_images"),
        ("2nd phase", None, "c_2nd_phase"),
        ("detector", None, "lab_detector"),
        ("select", None, "lab_select"),
        ("label", None, "lab_label"),
        ("tile_x_px", None, "lab_tile_x_px"),
        ("µ-size", "µm", "u_size_um"),
        ("%%%", None, "pct_pct_pct"),
        (";--", None, "lab_column"),
        ("ç" * 200, None, "c" * 63),
    ],
)
def test_lab_column_names_are_safe_identifiers_clear_of_schema_columns(header, unit, name):
    got = lab_columns.lab_name(header, unit, set())
    assert got == name
    assert lab_columns.SAFE_NAME.fullmatch(got) and got not in lab_columns.reserved_names()


def test_two_headers_with_one_safe_name_get_distinct_names():
    taken: set[str] = set()
    names = []
    for header in ("Cr", "cr", "CR "):
        names.append(lab_columns.lab_name(header, None, taken))
        taken.add(names[-1])
    assert names == ["cr", "cr_2", "cr_3"]


@pytest.mark.parametrize(
    ("value", "unit", "slot_unit", "expected"),
    [
        (90, "min", "h", 1.5),
        (1173.15, "K", "Cel", 900.0),
        (1652, "°F", "Cel", 900.0),
        (900, "degC", "Cel", 900.0),
        (2, "h", "s", 7200.0),
        (30, "sec", "s", 30.0),
    ],
)
def test_units_convert_to_the_slot_unit(value, unit, slot_unit, expected):
    assert lab_columns.convert(value, unit, slot_unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    "unit", ["wt%", "wt.%", "at%", "vol%", "%", "HV10", "HV 0.5", "MPa", "µm", "ppm", "°C", "mm2", "mm²", "J/cm2"]
)
def test_common_lab_units_are_known(unit):
    assert lab_columns.is_unit(unit)


@pytest.mark.parametrize("unit", ["blorps", "optional", "", "1/0", "-", "#", "2"])
def test_unknown_units_are_refused(unit):
    assert not lab_columns.is_unit(unit)


def test_dimension_mismatch_is_refused():
    with pytest.raises(ValueError, match="cannot be converted"):
        lab_columns.convert(1.5, "wt%", "Cel")


def _table(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("specimen_id,a,a\nS1,1,2\n", "t.csv row 1: columns 2 and 3 are both named 'a'"),
        ("specimen_id,a\nS1,1,2\n", "t.csv row 2: 3 cells but 2 headers"),
        ("specimen_id,Cr [wt%]\nS1,1.5\nS2,1,5\n", "t.csv row 3: 3 cells but 2 headers"),
        ("specimen_id,Cr [wt%]\nS1,1.5\nS2,high\n", "t.csv row 3, column 'Cr [wt%]': 'high' is not a number"),
        ("specimen_id,T [blorps]\nS1,1\n", "t.csv row 1, column 'T [blorps]': unknown unit 'blorps'"),
        (
            "specimen_id,Temperature [°C],heat_treatment_temperature_c\nS1,1,2\n",
            "columns 'Temperature [°C]' and 'heat_treatment_temperature_c' both give heat_treatment_temperature_c",
        ),
        ("file,specimen_id,x\na.tif,S1,1\na.tif,S1,2\n", "file 'a.tif' is in rows 2 and 3 with different values"),
        ("file,specimen_id,x\na.tif,S1,1\nb.tif,S1,2\n", "specimen 'S1' is in rows 2 and 3 with different values"),
    ],
)
def test_ambiguous_tables_are_refused_in_one_line(tmp_path, text, fragment):
    with pytest.raises(SpecimenTableError) as raised:
        load_specimen_table(_table(tmp_path, text))
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_blank_rows_keep_spreadsheet_row_numbers(tmp_path):
    text = "\n\nspecimen_id,Cr [wt%]\n\nS1,1.5\n\nS2,oops\n"
    with pytest.raises(SpecimenTableError, match="t.csv row 7, column 'Cr \\[wt%\\]'"):
        load_specimen_table(_table(tmp_path, text))


def test_semicolon_separated_tables_are_read(tmp_path):
    table = load_specimen_table(_table(tmp_path, "Sample;Anneal T [°C];cool method\nS1;800;air\n"))
    assert table.specimens["S1"].attributes == '{"anneal_t_c": 800.0, "cool_method": "air"}'


def test_one_file_per_row_tables_share_specimen_values(tmp_path):
    text = "file,specimen_id,phase,Cr [wt%]\na.tif,S1,bainite,1.5\nb.tif,S1,pearlite,1.5\n"
    table = load_specimen_table(_table(tmp_path, text), label_column="phase")
    assert {name: row.label for name, row in table.files.items()} == {"a.tif": "bainite", "b.tif": "pearlite"}
    assert list(table.specimens) == ["S1"]


def test_mapping_file_must_map_names_to_slots(tmp_path):
    assert parse_mapping(["A=material"], _table(tmp_path, "B: alloy\n", "m.yaml")) == {"B": "alloy", "A": "material"}
    with pytest.raises(SpecimenTableError, match="m2.yaml: a mapping file holds"):
        parse_mapping([], _table(tmp_path, "- a\n- b\n", "m2.yaml"))


def test_file_rows_match_ignoring_case_and_extension_when_unambiguous(tmp_path):
    text = "Image,Sample,phase\nIMG_A.TIF,S1,x\nimg_b,S2,y\nimg_c.tif,S3,z\nimg_c.png,S4,w\n"
    table = load_specimen_table(_table(tmp_path, text), label_column="phase")
    assert table.file_row("img_a.tif").specimen_id == "S1"
    assert table.file_row("img_b.tif").specimen_id == "S2"
    assert table.file_row("img_c.jpg") is None  # two rows have that stem
    assert table.file_row("img_c.png").specimen_id == "S4"


def test_unknown_unit_names_the_header_row(tmp_path):
    with pytest.raises(SpecimenTableError, match="t.csv row 3, column 'T \\[blorps\\]'"):
        load_specimen_table(_table(tmp_path, "\n\nspecimen_id,T [blorps]\nS1,1\n"))


def test_windows_1252_csv_is_read(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("Sample,Anneal T [°C],Ätzmittel\r\nS1,800,Nital\r\n".encode("cp1252"))
    table = load_specimen_table(path)
    assert table.specimens["S1"].attributes == '{"anneal_t_c": 800.0, "atzmittel": "Nital"}'


def test_binary_junk_is_one_clear_error(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"specimen_id,a\n\x81\x8d\x8f\x90\x9d\x00\n")
    with pytest.raises(SpecimenTableError, match="junk.csv: cannot read specimen table"):
        load_specimen_table(path)
