"""The `--where` of `build` and `predict` runs sandboxed: a predicate that reaches for files,
the network or extensions is refused in one line, nothing is built, stored or labelled,
and the secret never shows (it used to be accepted and the predicate stored with the build).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
MARKER = "fm-where-secret-51c0e2"

# {txt}, {csv}, {dir} are filled in per test. Each used to run (or to leak the secret in its error).
HOSTILE = {
    "issue-read-blob": "TRUE) AND (octet_length((SELECT content FROM read_blob('{txt}'))) > 0) AND (TRUE",
    "secret-in-cast-error": "CAST((SELECT content FROM read_text('{txt}')) AS INTEGER) = 1",
    "read-csv": "EXISTS (SELECT * FROM read_csv('{csv}'))",
    "replacement-scan": "EXISTS (SELECT * FROM '{csv}')",
    "glob": "(SELECT count(*) FROM glob('{dir}/*')) > 0",
    "passwd": "EXISTS (SELECT * FROM read_csv('/etc/passwd', sep = ':'))",
    "file-log": "TRUE) AND EXISTS (SELECT * FROM enable_logging(storage = 'file', storage_path = '{dir}/logs')) AND (TRUE",
}
SECRETS = (MARKER, "root:x:0:0")


@pytest.fixture(scope="module")
def ingested_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("where-sandbox")
    table = write_collection(root / "images", specimens_per_class=3)
    Cli(root / "catalog.duckdb", root)(
        "ingest",
        str(root / "images"),
        "--specimens",
        str(table),
        "--specimen-pattern",
        PATTERN,
        "--label-from-folder",
    )
    return root / "catalog.duckdb"


@pytest.fixture
def secrets_dir(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "secret.txt").write_text(MARKER)
    (folder / "secret.csv").write_text(f"name\n{MARKER}\n")
    return {"txt": str(folder / "secret.txt"), "csv": str(folder / "secret.csv"), "dir": str(folder)}


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _assert_refused(result, secrets_dir: dict[str, str]) -> None:
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "--where" in result.stderr
    assert "outside the catalog" in result.stderr or "changes the database engine" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)
    assert not Path(secrets_dir["dir"], "logs").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_build_refuses_a_where_that_reaches_outside_the_catalog(
    cli, ingested_catalog: Path, catalog_path: Path, tmp_path: Path, secrets_dir, case
) -> None:
    shutil.copy(ingested_catalog, catalog_path)
    private = _hashes(Path(secrets_dir["dir"]))
    where = HOSTILE[case].format(**secrets_dir)
    result = cli(
        "build",
        "d",
        "--where",
        where,
        "--tile",
        "24",
        "--license",
        "MIT",
        "--out",
        "out",
        "--no-validate",
        check=False,
    )
    _assert_refused(result, secrets_dir)
    assert not (tmp_path / "out").exists()
    assert cli.rows("SELECT count(*) AS n FROM datasets") == [{"n": 0}]  # nothing stored, the predicate included
    assert _hashes(Path(secrets_dir["dir"])) == private


def test_build_with_an_ordinary_where_still_works(cli, ingested_catalog: Path, catalog_path: Path) -> None:
    shutil.copy(ingested_catalog, catalog_path)
    cli(
        "build",
        "d",
        "--where",
        "label IS NOT NULL AND sha256 IN (SELECT sha256 FROM images)",
        "--tile",
        "24",
        "--license",
        "MIT",
        "--out",
        "out",
        "--no-validate",
    )
    assert cli.rows("SELECT count(*) AS n FROM datasets") == [{"n": 1}]


# ----------------------------------------------------------------- predict
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A catalog with a texture training run (built and trained once for the module)."""
    from fairmicro.models.runner import train
    from tests.models.conftest import _built

    root = tmp_path_factory.mktemp("where-predict")
    catalog, dataset = _built(root, image_signal=True)
    fast = {"distances": [1], "levels": 32, "select_k": ["all"], "cv_folds": 2, "mode": "texture"}
    run_id = train("texture", str(dataset), fast, catalog=catalog, runs_dir=root / "runs").run_id
    return catalog, run_id


@pytest.mark.slow
@pytest.mark.parametrize("case", ["issue-read-blob", "secret-in-cast-error", "glob", "file-log"])
def test_predict_refuses_a_where_that_reaches_outside_the_catalog(
    cli, trained, catalog_path: Path, secrets_dir, case
) -> None:
    shutil.copy(trained[0], catalog_path)
    before = cli.rows("SELECT sha256, label, label_source FROM images ORDER BY sha256")
    runs = cli.rows("SELECT count(*) AS n FROM model_runs")
    predictions = cli.rows("SELECT count(*) AS n FROM predictions")
    result = cli("predict", trained[1], "--where", HOSTILE[case].format(**secrets_dir), "--threshold", "0", check=False)
    _assert_refused(result, secrets_dir)
    assert cli.rows("SELECT sha256, label, label_source FROM images ORDER BY sha256") == before
    assert cli.rows("SELECT count(*) AS n FROM model_runs") == runs  # no predict run recorded
    assert cli.rows("SELECT count(*) AS n FROM predictions") == predictions
