"""``import fairmicro`` stays cheap, every public name resolves and is documented, and the wrappers
cannot drift from the functions they wrap (same defaults, every option passed on)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import fairmicro as fm

PUBLIC = [
    "Catalog",
    "IngestReport",
    "QueryResult",
    "BuildReport",
    "FairmicroError",
    "build",
    "publish",
    "train",
    "pretrain",
    "evaluate",
    "predict",
    "qualify",
    "runs",
]
HEAVY = (
    "duckdb",
    "pandas",
    "pyarrow",
    "polars",
    "torch",
    "sklearn",
    "datasets",
    "transformers",
    "linkml_runtime",
    "pydantic",
    "typer",
    "rich",
)


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_fairmicro_imports_nothing_heavy_not_even_duckdb():
    loaded = _loaded_after("import fairmicro as fm")
    assert sorted(name for name in HEAVY if name in loaded) == []


def test_the_catalog_class_and_pipeline_functions_load_no_data_frame_or_ml_package():
    loaded = _loaded_after("import fairmicro as fm\nfm.Catalog, fm.build, fm.train, fm.qualify, fm.predict")
    assert (
        sorted(name for name in ("pandas", "pyarrow", "polars", "torch", "sklearn", "datasets") if name in loaded) == []
    )


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves_is_listed_and_documented(name):
    value = getattr(fm, name)
    assert name in fm.__all__ and name in dir(fm)
    assert inspect.getdoc(value), name
    if inspect.isfunction(value):
        doc = inspect.getdoc(value) or ""
        assert "Returns" in doc or name in ("pretrain", "runs"), f"{name}: numpydoc Returns section"
    from fairmicro import Catalog  # noqa: F401 - `from fairmicro import X` works too


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Katalog'"):
        fm.Katalog  # noqa: B018


def _defaults(function: object) -> dict[str, object]:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()  # type: ignore[arg-type]
        if p.default is not inspect.Parameter.empty
    }


def test_qualify_has_the_qualifiers_defaults():
    from fairmicro.models.qualifier.run import qualify

    ours, theirs = _defaults(fm.qualify), _defaults(qualify)
    internal = {"fusion_weights": "weights"}  # the public name (the CLI's --fusion-weights) of the runner's parameter
    assert {name: theirs[internal.get(name, name)] for name in ours} == ours
    # options the wrapper does not name are passed on through **options
    kinds = [p.kind for p in inspect.signature(fm.qualify).parameters.values()]
    assert set(theirs) <= {internal.get(name, name) for name in ours} or inspect.Parameter.VAR_KEYWORD in kinds


def test_evaluate_and_predict_keep_the_runners_defaults():
    from fairmicro.models.runner import evaluate, predict_dataset

    assert _defaults(fm.evaluate)["split"] == _defaults(evaluate)["split"]
    assert _defaults(fm.predict)["split"] == _defaults(predict_dataset)["split"]


def test_build_has_the_builders_defaults():
    from fairmicro.builders import BuildConfig, SplitSpec, TilingSpec

    ours = _defaults(fm.build)
    tiling, splits, config = TilingSpec(), SplitSpec(), BuildConfig(name="x", out=".")  # type: ignore[arg-type]
    assert ours["tile"] == tiling.tile and ours["stride"] == tiling.stride
    assert ours["keep_data_bar"] is (not tiling.crop_data_bar) and ours["crop_bottom"] == tiling.crop_bottom
    assert ours["mask_guided"] == tiling.mask_guided and ours["mask_purity"] == tiling.min_purity
    assert tuple(ours["splits"]) == splits.fractions and ours["split_by"] == splits.split_by  # type: ignore[arg-type]
    assert ours["seed"] == splits.seed and ours["allow_empty_class"] == splits.allow_empty_class
    assert ours["label"] == config.label and ours["task"] == config.task and ours["validate"] == config.validate
    assert ours["where"] == config.selection.where and ours["max_shard_mb"] << 20 == config.max_shard_bytes


def test_ingest_has_the_cli_defaults():
    from fairmicro.cli.fast import COMMANDS

    ours = _defaults(fm.Catalog.ingest)
    shared = set(COMMANDS["ingest"].defaults) & set(ours)  # --json, --quiet are the CLI's output, not the API's
    assert {"label_from_folder", "strict", "batch_size", "jobs"} <= shared
    for name in shared:
        assert ours[name] == COMMANDS["ingest"].defaults[name], name


def test_build_passes_every_option_on(monkeypatch, tmp_path):
    """Each keyword lands in the BuildConfig the builder receives."""
    from fairmicro import builders

    seen = {}

    def fake_build(catalog, config, on_image=None):
        seen["config"] = config
        raise fm.FairmicroError("stop")

    monkeypatch.setattr(builders, "build_dataset", fake_build)
    with fm.Catalog.open(tmp_path / "c.duckdb") as cat, pytest.raises(fm.FairmicroError, match="stop"):
        fm.build(
            "n",
            tmp_path / "out",
            license="MIT",
            catalog=cat,
            where="width_px > ?",
            params=[10],
            label="kind",
            tile=32,
            stride=16,
            keep_data_bar=True,
            crop_bottom=5,
            mask_guided=True,
            mask_purity=0.9,
            mask_classes={1: "graphite"},
            split_by="furnace",
            splits="0.5,0.5",
            seed=3,
            allow_empty_class=True,
            creators="Jane Doe",
            description="d",
            keywords="steel",
            citation="c",
            max_shard_mb=2,
            validate=False,
            task="classification",
        )
    config = seen["config"]
    assert (config.selection.where, config.selection.params, config.label) == ("width_px > ?", (10,), "kind")
    assert (config.tiling.tile, config.tiling.stride, config.tiling.crop_data_bar) == (32, 16, False)
    assert (config.tiling.crop_bottom, config.tiling.mask_guided, config.tiling.min_purity) == (5, True, 0.9)
    assert config.tiling.mask_classes == {1: "graphite"}
    assert (config.splits.fractions, config.splits.split_by, config.splits.seed) == ((0.5, 0.5), "furnace", 3)
    assert config.splits.allow_empty_class and [c.name for c in config.creators] == ["Jane Doe"]
    assert (config.description, config.keywords, config.citation) == ("d", ("steel",), "c")
    assert (config.max_shard_bytes, config.validate, config.license) == (2 << 20, False, "MIT")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"license": "not-a-licence"}, "licen"),
        ({"license": "MIT", "splits": "0.7,x"}, "--splits"),
        ({"license": "MIT", "splits": (0.5, 0.2)}, "sum to 1"),
        ({"license": "MIT", "mask_classes": ["graphite"]}, "mask_classes"),
        ({"license": "MIT", "where": 1}, "where"),
    ],
)
def test_bad_build_arguments_are_one_line_before_anything_is_written(tmp_path, kwargs, message):
    out = tmp_path / "out"
    with fm.Catalog.open(tmp_path / "c.duckdb") as cat:
        with pytest.raises(fm.FairmicroError, match=message) as info:
            fm.build("n", out, catalog=cat, **kwargs)
        assert "\n" not in str(info.value)
        assert cat.query("SELECT count(*) FROM datasets").rows == [(0,)]
    assert not out.exists()


def test_runs_are_named_by_id_or_result_and_bad_references_are_one_line(tmp_path):
    with fm.Catalog.open(tmp_path / "c.duckdb") as cat:
        for bad in (None, 3, ""):
            with pytest.raises(fm.FairmicroError, match="expected a run id"):
                fm.evaluate(bad, catalog=cat)  # type: ignore[arg-type]
        with pytest.raises(fm.FairmicroError, match="dataset"):
            fm.train("texture", 42, catalog=cat)  # type: ignore[arg-type]
        with pytest.raises(fm.FairmicroError, match="nope"):
            fm.evaluate("nope", catalog=cat)
        assert fm.runs(cat).rows == [] and cat.runs().columns[0] == "run_id"
