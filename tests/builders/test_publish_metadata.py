"""What a published dataset says about itself: licence, authors, and nothing of the local machine."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from fairmicro.builders.info import check_license, hub_license
from fairmicro.errors import DatasetBuildError
from tests.builders.conftest import write_collection
from tests.conftest import Cli

PATTERN = r"(?P<specimen_id>S\d{3})_"
CARBERRY = "Josiah Carberry <0000-0002-1825-0097>"


@pytest.fixture(scope="module")
def ingested_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("publish-metadata")
    table = write_collection(root / "images", specimens_per_class=5)
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
def no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No creator configured anywhere: an empty home, no git identity, no $FAIRMICRO_CREATOR."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("FAIRMICRO_CREATOR", "FAIRMICRO_CONFIG", "XDG_CONFIG_HOME", "GIT_AUTHOR_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return home


@pytest.fixture
def cli_built(ingested_catalog: Path, catalog_path: Path, cli: Cli, no_config: Path) -> Cli:
    shutil.copy(ingested_catalog, catalog_path)
    return cli


def _header(out: Path) -> dict:
    return yaml.safe_load((out / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def _graph(out: Path) -> dict[str, dict]:
    crate = json.loads((out / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    return {entity["@id"]: entity for entity in crate["@graph"]}


# ------------------------------------------------------------------ licence


@pytest.mark.parametrize(
    ("given", "spdx", "card"),
    [
        ("CC-BY-4.0", "CC-BY-4.0", {"license": "cc-by-4.0"}),
        ("cc-by-4.0", "CC-BY-4.0", {"license": "cc-by-4.0"}),
        ("MIT", "MIT", {"license": "mit"}),
        ("CC0-1.0", "CC0-1.0", {"license": "cc0-1.0"}),
        ("GPL-3.0-or-later", "GPL-3.0-or-later", {"license": "gpl-3.0"}),
        ("ODbL-1.0", "ODbL-1.0", {"license": "odbl"}),
        ("mit or apache-2.0", "MIT OR Apache-2.0", {"license": "other", "license_name": "mit-or-apache-2.0"}),
        (
            "Beerware",
            "Beerware",
            {"license": "other", "license_name": "beerware", "license_link": "https://spdx.org/licenses/Beerware"},
        ),
        (
            "LicenseRef-lab-internal",
            "LicenseRef-lab-internal",
            {"license": "other", "license_name": "licenseref-lab-internal"},
        ),
    ],
)
def test_spdx_licences_map_to_the_hubs_licence_ids(given: str, spdx: str, card: dict) -> None:
    assert check_license(given) == spdx
    assert hub_license(spdx) == card


@pytest.mark.parametrize(
    "licence",
    [
        "Foo",
        "CC-BY-4",
        "MIT; rm -rf /",
        "MIT\n---\nlicense: mit",
        "MIT AND",
        "",
        "<script>alert(1)</script>",
        "MIT' OR '1'='1",
        "x" * 300,
    ],
)
def test_an_unknown_or_hostile_licence_is_one_line_and_builds_nothing(cli_built: Cli, licence: str) -> None:
    with pytest.raises(DatasetBuildError, match="not an SPDX licence"):
        check_license(licence)
    result = cli_built("build", "d", "--license", licence, "--out", "out", check=False)
    assert result.returncode == 1 and result.stderr.startswith("error: --license")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (cli_built.cwd / "out").exists()
    assert cli_built.rows("SELECT count(*) AS n FROM datasets") == [{"n": 0}]


@pytest.mark.slow
def test_a_licence_expression_builds_a_valid_card_crate_and_croissant(cli_built: Cli) -> None:
    cli_built(
        "build", "d", "--tile", "24", "--license", "MIT OR Apache-2.0", "--creator", CARBERRY, "--out", "out"
    )  # validation on: crate and Croissant must accept the expression
    out = cli_built.cwd / "out"
    header = _header(out)
    assert (header["license"], header["license_name"]) == ("other", "mit-or-apache-2.0")
    root = _graph(out)["./"]
    assert _graph(out)[root["license"]["@id"]]["identifier"] == "MIT OR Apache-2.0"
    croissant = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    assert croissant["license"] in ("MIT OR Apache-2.0", ["MIT OR Apache-2.0"])


# ------------------------------------------------------------------ creators


def test_without_creator_the_build_warns_that_the_dataset_names_no_author(cli_built: Cli) -> None:
    result = cli_built("build", "d", "--license", "MIT", "--out", "out", "--no-validate")
    assert "warning: no --creator given and none configured" in result.stdout
    assert "creator" not in _graph(cli_built.cwd / "out")["./"]


def _creator_sources(home: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    if source == "env":
        monkeypatch.setenv("FAIRMICRO_CREATOR", CARBERRY)
        return "$FAIRMICRO_CREATOR"
    config = home / ".config" / "fairmicro" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[build]\ncreator = "{CARBERRY}"\n', encoding="utf-8")
    return "config.toml"


@pytest.mark.parametrize("source", ["env", "config"])
def test_a_configured_creator_is_named_everywhere_and_the_user_is_told(
    cli_built: Cli, no_config: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    where = _creator_sources(no_config, monkeypatch, source)
    result = cli_built("build", "d", "--license", "MIT", "--out", "out", "--no-validate")
    assert "warning: no --creator given; naming 'Josiah Carberry'" in result.stdout and where in result.stdout
    out = cli_built.cwd / "out"
    graph = _graph(out)
    assert graph["./"]["creator"] == {"@id": "https://orcid.org/0000-0002-1825-0097"}
    croissant = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    assert "Josiah Carberry" in json.dumps(croissant["creator"])
    assert "author = {Josiah Carberry}" in (out / "README.md").read_text(encoding="utf-8")


def test_a_malformed_configured_creator_is_one_line_naming_its_source(
    cli_built: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRMICRO_CREATOR", "Someone <0000-0002-1825-0098>")
    result = cli_built("build", "d", "--license", "MIT", "--out", "out", check=False)
    assert result.returncode == 1 and "$FAIRMICRO_CREATOR" in result.stderr and "ORCID" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (cli_built.cwd / "out").exists()


# ------------------------------------------------------------- local paths


def _local_words(tmp_path: Path) -> list[str]:
    words = [str(tmp_path), str(tmp_path.resolve()), str(Path.home()), "/tmp/"]
    host = socket.gethostname().split(".")[0]
    return words + ([host] if len(host) >= 4 else []) + [f"/{getpass.getuser()}/"]


@pytest.mark.slow
def test_no_local_path_user_or_host_reaches_any_built_file(cli_built: Cli, tmp_path: Path) -> None:
    out = tmp_path / "published" / "ds"  # an absolute --out, as users type it
    images = tmp_path.parent  # the ingested images live beside the test folder
    cli_built(
        "build",
        "d",
        "--tile",
        "24",
        "--license",
        "CC-BY-4.0",
        "--creator",
        CARBERRY,
        "--out",
        str(out),
        "--where",
        f"path LIKE '{images}/%' AND path NOT LIKE ?",
        "--where-param",
        f"{tmp_path}/nothing%",
    )
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"README.md", "ro-crate-metadata.json", "croissant.json"}
    for path in files:
        texts = [path.read_bytes().decode("utf-8", "replace")]
        if path.suffix == ".parquet":
            texts.append(json.dumps(pq.read_table(path).drop_columns(["image"]).to_pylist(), default=str))
            texts.append(str(pq.read_schema(path).metadata))
        for text in texts:
            for word in _local_words(tmp_path):
                assert word not in text, f"{path.relative_to(out)} names {word!r}"
    assert "--out ds" in (out / "README.md").read_text(encoding="utf-8")
    assert "<local>/" in (out / "README.md").read_text(encoding="utf-8")  # the selection, redacted


@pytest.mark.slow
def test_without_creator_a_validated_build_succeeds_and_warns_what_the_crate_lacks(cli_built: Cli) -> None:
    result = cli_built("build", "d", "--license", "MIT", "--out", "out")  # validation on, RECOMMENDED
    assert "ro-crate-metadata.json (RECOMMENDED)" in result.stdout and "publisher" in result.stdout
    root = _graph(cli_built.cwd / "out")["./"]
    assert "publisher" not in root and "creator" not in root  # no invented author
    card = (cli_built.cwd / "out" / "README.md").read_text(encoding="utf-8")
    assert "--creator 'Name <ORCID iD>'" in card.split("## Dataset Card Contact")[1]
