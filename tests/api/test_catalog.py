"""``fm.Catalog`` as a notebook user meets it: ``import fairmicro as fm`` only, default parameters.

Effects are checked, not only messages: a refused query writes no file and changes no
row, a refused catalog file is byte-identical afterwards, a sandboxed query leaves no
locked-down connection behind for the next ingest.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import fairmicro as fm
from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "in dir #1"
    write_zeiss_tiff(folder / "steel" / "HC01_a.tif", texture((48, 64)))
    write_fei_tiff(folder / "steel" / "HC01_b é.tif", texture((48, 64), seed=1))
    write_zeiss_tiff(folder / "cast" / "HC02_c.tif", texture((48, 64), kind=1, seed=2))
    return folder


@pytest.fixture
def cat(images: Path, tmp_path: Path) -> fm.Catalog:
    with fm.Catalog.open(tmp_path / "lab.duckdb") as catalog:
        catalog.ingest(images, label_from_folder=True)
        yield catalog


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ ingest


def test_ingest_returns_a_summary_with_counts_and_a_rerun_finds_everything_present(images, tmp_path):
    with fm.Catalog.open(tmp_path / "lab.duckdb") as cat:
        report = cat.ingest(images)
        again = cat.ingest(str(images))  # a single string is one path
        assert (report.ingested, report.already_present, report.rejected, report.skipped) == (3, 0, [], [])
        assert report.ok and again.ok
        assert (again.ingested, again.already_present) == (0, 3)
        assert cat.query("SELECT count(*) FROM images").rows == [(3,)]
    assert "ingested 3, already present 0, rejected 0, skipped 0" in repr(report)
    assert report.to_dict()["ingested"] == 3 and report.catalog == tmp_path / "lab.duckdb"


def test_a_corrupt_file_is_rejected_with_its_reason_and_the_rest_is_ingested(images, tmp_path):
    (images / "steel" / "broken.tif").write_bytes(b"II*\x00garbage")
    with fm.Catalog.open(tmp_path / "lab.duckdb") as cat:
        report = cat.ingest([images])
        strict = cat.ingest(images, strict=True)
    assert report.ingested == 3 and report.ok  # like the CLI: exit 0 while something was ingested
    [(path, reason)] = report.rejected
    assert "broken.tif" in path and "broken.tif" in reason
    assert not strict.ok  # strict: a rejected file is a failure


def test_ingest_specimen_table_pattern_and_labels(tmp_path):
    from fairmicro.testing.samples import write_demo_collection

    table = write_demo_collection(tmp_path / "lab", images_per_specimen=1, shape=(48, 64), specimens_per_class=1)
    with fm.Catalog.open(tmp_path / "c.duckdb") as cat:
        report = cat.ingest(
            tmp_path / "lab", specimens=table, specimen_pattern=r"(?P<specimen_id>HC\d+)_", label_from_folder=True
        )
        rows = cat.query("SELECT specimen_id, label, cooling_method FROM image_metadata ORDER BY 1").rows
    assert report.ingested == 3 and report.warnings == []
    assert rows == [
        ("HC01", "ferrite_pearlite", "air_cool"),
        ("HC02", "martensite", "water_quench"),
        ("HC03", "spheroidite", "furnace_cool"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"specimen_pattern": "(HC\\d+)"}, "specimen_id"),
        ({"specimen_pattern": "(?P<specimen_id>"}, "not a valid regex"),
        ({"label_column": "label"}, "--label-column needs --specimens"),
        ({"mask_classes": "background,phase"}, "need --masks"),
        ({"jobs": -1}, "--jobs"),
        ({"batch_size": 0}, "--batch-size"),
    ],
)
def test_bad_ingest_options_are_one_line_and_write_nothing(images, tmp_path, kwargs, message):
    with fm.Catalog.open(tmp_path / "lab.duckdb") as cat:
        with pytest.raises(fm.FairmicroError, match=message) as info:
            cat.ingest(images, **kwargs)
        assert "\n" not in str(info.value)
        assert cat.query("SELECT count(*) FROM images").rows == [(0,)]


def test_ingest_of_a_folder_without_images_is_an_error_and_a_missing_file_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with fm.Catalog.open(tmp_path / "lab.duckdb") as cat:
        with pytest.raises(fm.FairmicroError, match="no image files"):
            cat.ingest(tmp_path / "empty")
        missing = cat.ingest(tmp_path / "missing.tif")
        assert not missing.ok and missing.ingested == 0  # as the CLI: rejected, exit 1
        [(path, reason)] = missing.rejected
        assert "missing.tif" in path and "missing.tif" in reason
        with pytest.raises(fm.FairmicroError, match="bytes"):
            cat.ingest(b"/tmp")  # type: ignore[arg-type]


# ------------------------------------------------------------------- query


def test_query_result_rows_columns_iteration_and_params(cat):
    result = cat.query("SELECT label, count(*) AS n FROM image_metadata GROUP BY 1 ORDER BY 1")
    assert result.columns == ["label", "n"]
    assert list(result) == result.rows == [("cast", 1), ("steel", 2)]
    assert len(result) == 2
    bound = cat.query("SELECT count(*) AS n FROM image_metadata WHERE label = ?", ["steel"])
    named = cat.query("SELECT count(*) AS n FROM image_metadata WHERE label = $label", {"label": "cast"})
    assert bound.rows == [(2,)] and named.rows == [(1,)]
    with pytest.raises(fm.FairmicroError, match="bound parameters need exactly one"):
        cat.query("SELECT ?; SELECT ?", [1])


def test_df_has_timestamps_floats_and_ints_typed_even_when_all_null(cat):
    result = cat.query(
        "SELECT sha256, width_px, pixel_size_x_nm, acquired_at, ingested_at, "
        "CAST(NULL AS DOUBLE) AS empty_float, CAST(NULL AS TIMESTAMP) AS empty_time, 1.5::DECIMAL(6,2) AS d "
        "FROM image_metadata ORDER BY sha256"
    )
    df = result.df()
    assert len(df) == 3
    assert df["width_px"].dtype.kind == "i" and df["width_px"].tolist() == [64, 64, 64]
    for column in ("pixel_size_x_nm", "empty_float"):
        assert df[column].dtype == "float64", column
    for column in ("acquired_at", "ingested_at", "empty_time"):
        assert df[column].dtype.kind == "M", column
    assert isinstance(df["ingested_at"].iloc[0].to_pydatetime(), datetime)
    assert df["pixel_size_x_nm"].iloc[0] == pytest.approx(result.rows[0][2])
    table = result.arrow()
    assert str(table.schema.field("acquired_at").type) == "timestamp[us]"
    assert str(table.schema.field("d").type) == "decimal128(6, 2)"
    assert table.num_rows == 3 and table.column_names == result.columns


def test_empty_result_keeps_its_columns_and_types(cat):
    df = cat.query("SELECT sha256, pixel_size_x_nm, ingested_at FROM image_metadata WHERE false").df()
    assert list(df.columns) == ["sha256", "pixel_size_x_nm", "ingested_at"] and len(df) == 0
    assert df["pixel_size_x_nm"].dtype == "float64" and df["ingested_at"].dtype.kind == "M"


def test_pl_works_or_names_polars_in_one_line(cat):
    result = cat.query("SELECT width_px, pixel_size_x_nm FROM image_metadata")
    try:
        import polars  # noqa: F401
    except ImportError:
        with pytest.raises(fm.FairmicroError) as info:
            result.pl()
        assert str(info.value) == "QueryResult.pl() needs the 'polars' package: install it with pip install polars"
    else:
        frame = result.pl()
        assert frame.height == 3 and str(frame.schema["pixel_size_x_nm"]) == "Float64"


def test_df_without_pandas_names_pandas(cat, monkeypatch):
    result = cat.query("SELECT 1 AS a")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(fm.FairmicroError, match="needs the 'pandas' package: install it with pip install pandas"):
        result.df()


def test_html_and_text_display_escape_cells(cat):
    result = cat.query("SELECT '<script>alert(1)</script>' AS x, NULL AS y")
    assert "<script>" not in result._repr_html_() and "&lt;script&gt;" in result._repr_html_()
    assert "1 row(s)" in repr(result) and "NULL" in repr(result)


# ----------------------------------------------------------- hostile SQL


HOSTILE = [
    "COPY (SELECT 1 AS a) TO '{target}'",
    "COPY images TO '{target}' (FORMAT csv)",
    "EXPORT DATABASE '{dir}'",
    "SELECT * FROM read_csv('{secret}')",
    "ATTACH '{other}' AS other",
    "INSTALL httpfs",
    "SET enable_external_access = true",
]
CATALOG_WRITES = ["DELETE FROM images", "SELECT 1; DROP TABLE images"]  # allowed with write=True, by design
CASES = [(sql, False) for sql in HOSTILE + CATALOG_WRITES] + [(sql, True) for sql in HOSTILE]


@pytest.mark.parametrize(("sql", "write"), CASES)
def test_hostile_sql_is_refused_and_changes_nothing(cat, tmp_path, sql, write):
    (tmp_path / "secret.csv").write_text("s\nfm-secret\n")
    names = {
        "target": tmp_path / "out.csv",
        "dir": tmp_path / "export",
        "secret": tmp_path / "secret.csv",
        "other": tmp_path / "other.duckdb",
    }
    before, rows = _snapshot(tmp_path), cat.query("SELECT sha256, path, label FROM images ORDER BY 1").rows
    with pytest.raises(fm.FairmicroError) as info:
        cat.query(sql.format(**names), write=write)
    assert "\n" not in str(info.value) and "fm-secret" not in str(info.value)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "export").exists()
    assert not (tmp_path / "other.duckdb").exists()
    if not write:  # a write=True open touches the catalog's own file (WAL, checkpoint); rows must still match
        assert _snapshot(tmp_path) == before
    assert cat.query("SELECT sha256, path, label FROM images ORDER BY 1").rows == rows


def test_sandbox_does_not_outlive_the_query(cat, images):
    with pytest.raises(fm.FairmicroError):
        cat.query("SELECT * FROM read_csv('/etc/passwd')")
    write_zeiss_tiff(images / "new" / "HC03_d.tif", texture((48, 64), seed=9))
    assert cat.ingest(images).ingested == 1  # the next write opens a fresh, writable connection


def test_write_and_unsafe_opt_in(cat, tmp_path):
    cat.query("UPDATE images SET label = 'relabelled' WHERE label = 'cast'", write=True)
    assert cat.query("SELECT count(*) FROM images WHERE label = 'relabelled'").rows == [(1,)]
    target = tmp_path / "unsafe.csv"
    cat.query(f"COPY (SELECT 1 AS a) TO '{target}'", unsafe=True)
    assert target.read_text().strip().splitlines() == ["a", "1"]


def test_query_refuses_non_text(cat):
    with pytest.raises(fm.FairmicroError, match="expected SQL text"):
        cat.query(b"SELECT 1")  # type: ignore[arg-type]


# ------------------------------------------------------------ open / close


def test_open_refuses_a_csv_and_leaves_it_byte_identical(tmp_path):
    csv = tmp_path / "specimens.csv"
    csv.write_bytes(b"specimen_id,material\nHC01,UHCS\n")
    before = csv.read_bytes()
    for read_only in (False, True):
        with pytest.raises(fm.FairmicroError, match="not a DuckDB catalog") as info:
            fm.Catalog.open(csv, read_only=read_only)
        assert "\n" not in str(info.value)
    assert csv.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["specimens.csv"]  # no .wal, no side file


def test_open_refuses_a_foreign_duckdb_a_folder_memory_and_a_missing_read_only_file(tmp_path):
    import duckdb

    foreign = tmp_path / "other.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    before = foreign.read_bytes()
    with pytest.raises(fm.FairmicroError, match="not a fairmicro catalog"):
        fm.Catalog.open(foreign)
    assert foreign.read_bytes() == before
    with pytest.raises(fm.FairmicroError, match="folder"):
        fm.Catalog.open(tmp_path)
    with pytest.raises(fm.FairmicroError, match="needs a catalog file"):
        fm.Catalog.open(":memory:")
    with pytest.raises(fm.FairmicroError, match="no catalog here"):
        fm.Catalog.open(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_read_only_and_closed_handles_refuse_what_they_cannot_do(cat, images):
    with fm.Catalog.open(cat.path, read_only=True) as reader:
        assert reader.query("SELECT count(*) FROM images").rows == [(3,)]
        with pytest.raises(fm.FairmicroError, match="read_only"):
            reader.ingest(images)
        with pytest.raises(fm.FairmicroError, match="read_only"):
            reader.query("DELETE FROM images", write=True)
    with pytest.raises(fm.FairmicroError, match="closed"):
        reader.query("SELECT 1")
    assert "closed" in repr(reader)


def test_an_open_handle_holds_no_lock_so_the_cli_can_query(cat):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fairmicro",
            "query",
            "SELECT count(*) AS n FROM images",
            "--format",
            "csv",
            "--catalog",
            str(cat.path),
            "--wait",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "3"]


def test_default_catalog_comes_from_the_environment(images, tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRMICRO_CATALOG", str(tmp_path / "env.duckdb"))
    with fm.Catalog.open() as cat:
        cat.ingest(images)
    assert cat.path == tmp_path / "env.duckdb" and cat.path.is_file()
