"""The whole chain as a notebook script writes it: ``import fairmicro as fm`` and nothing else from
fairmicro but the sample generator, default parameters, run in a fresh interpreter (as a notebook
kernel is), so no fixture or earlier import helps it along."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import json
from pathlib import Path

import fairmicro as fm
from fairmicro.testing.samples import write_demo_collection

table = write_demo_collection(Path("lab"), specimens_per_class=3, images_per_specimen=1, shape=(96, 128))
with fm.Catalog.open("lab.duckdb") as cat:
    first = cat.ingest("lab", specimens=table, specimen_pattern=r"(?P<specimen_id>HC\d+)_", label_from_folder=True)
    again = cat.ingest("lab")
    frame = cat.query("SELECT label, pixel_size_x_nm, ingested_at FROM image_metadata").df()
    built = fm.build("chain", "out/chain", license="CC-BY-4.0", catalog=cat, tile=48)
    trained = fm.train("texture", built, catalog=cat)
    scored = fm.evaluate(trained, catalog=cat)
    predicted = fm.predict(trained, catalog=cat)
    runs = cat.runs().df()
print("RESULT " + json.dumps({
    "ingested": first.ingested, "present": again.already_present, "ok": first.ok,
    "labels": sorted(set(frame["label"])), "dtypes": [str(frame[c].dtype) for c in frame.columns],
    "built": str(built.path), "classes": built.classes, "splits": sorted(built.splits),
    "train": trained.run_id, "evaluate": scored.run_id, "evaluate_split": scored.metrics.get("split"),
    "predicted": predicted.predicted, "run_kinds": sorted(runs["run_kind"]),
}))
"""


@pytest.mark.slow
def test_the_whole_chain_with_import_fairmicro_only_and_default_parameters(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FAIRMICRO_CATALOG"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "HF_HUB_OFFLINE": "1"},
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    report = json.loads(line.removeprefix("RESULT "))
    assert report["ingested"] == 9 and report["present"] == 9 and report["ok"]
    assert report["labels"] == ["ferrite_pearlite", "martensite", "spheroidite"]
    assert report["dtypes"][1:] == ["float64", "datetime64[us]"]
    assert Path(tmp_path / report["built"] / "README.md").is_file()
    assert report["classes"] == report["labels"] and report["splits"] == ["test", "train", "validation"]
    assert report["evaluate_split"] == "test" and report["train"] != report["evaluate"]
    assert report["predicted"] == 0  # every image has a label: `label IS NULL` selects none
    assert report["run_kinds"] == ["evaluate", "predict", "train"]
    assert "Traceback" not in result.stderr
