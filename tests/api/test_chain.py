"""The whole chain as a notebook script writes it: ``import fairmicro as fm`` and nothing else from
fairmicro but the sample generator, default parameters, run in a fresh interpreter (as a notebook
kernel is), so no fixture or earlier import helps it along.

ingest -> query (.df(), .arrow(), .pl()) -> build -> publish to a Hub -> train -> evaluate -> predict
-> review -> qualify. The Hub is the local test Hub (``tests/hub``) behind ``HF_ENDPOINT``; CLIP and
FLAVA are tiny random models in local folders (the only non-default: the real ones are downloads of
hundreds of MB). Everything else is each function's default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub.server import HubServer, HubUser

TOKEN = "hf_fairmicro_chain_write_token_0123456789"

SCRIPT = r"""
import json, sys
from pathlib import Path

import fairmicro as fm
from fairmicro.testing.samples import write_demo_collection

clip, flava = sys.argv[1], sys.argv[2]
table = write_demo_collection(Path("lab"), specimens_per_class=3, images_per_specimen=1, shape=(96, 128))
Path("ea.yaml").write_text('''name: chain
assessments:
  - name: martensitic
    criterion: Lath martensite.
    positive_prompts: [a micrograph of lath martensite]
    negative_prompts: [a micrograph of spheroidite]
    positive_references: {where: "label = 'martensite'"}
    negative_references: {where: "label = 'spheroidite'"}
''')
with fm.Catalog.open("lab.duckdb") as cat:
    first = cat.ingest("lab", specimens=table, specimen_pattern=r"(?P<specimen_id>HC\d+)_", label_from_folder=True)
    again = cat.ingest("lab")
    result = cat.query("SELECT label, pixel_size_x_nm, ingested_at FROM image_metadata")
    frame, arrow, polars = result.df(), result.arrow(), result.pl()
    built = fm.build("chain", "out/chain", license="CC-BY-4.0", catalog=cat, tile=48)
    published = fm.publish(built, "my-lab/chain", tag="v1.0", catalog=cat)
    trained = fm.train("texture", "my-lab/chain@v1.0", catalog=cat)
    scored = fm.evaluate(trained, catalog=cat)
    predicted = fm.predict(trained, where="TRUE", threshold=1.0, catalog=cat)
    queue = cat.reviews()
    decided = cat.review(queue.rows[0][0][:10], accept=True) if queue.rows else None
    qualified = fm.qualify("ea.yaml", "label = 'ferrite_pearlite'", catalog=cat, clip=clip, flava=flava)
    runs = cat.runs().df()
print("RESULT " + json.dumps({
    "ingested": first.ingested, "present": again.already_present, "ok": first.ok,
    "labels": sorted(set(frame["label"])), "dtypes": [str(frame[c].dtype) for c in frame.columns],
    "arrow": [str(t) for t in arrow.schema.types], "polars": [str(t) for t in polars.dtypes], "rows": polars.height,
    "built": str(built.path), "classes": built.classes, "splits": sorted(built.splits),
    "published": published.repo_id, "tag": published.tag, "committed": published.committed,
    "train": trained.run_id, "evaluate": scored.run_id, "evaluate_split": scored.metrics.get("split"),
    "predicted": predicted.predicted, "queued": predicted.queued, "accepted": predicted.accepted,
    "decided": None if decided is None else decided.to_dict(),
    "qualified": len(qualified.rows), "decisions": sorted({r["decision"] for r in qualified.rows}),
    "run_kinds": sorted(runs["run_kind"]), "tasks": sorted(set(runs["task"])),
}))
"""


@pytest.mark.slow
def test_the_whole_chain_with_import_fairmicro_only_and_default_parameters(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("polars")
    from fairmicro.models.qualifier.tiny import build_tiny_clip, build_tiny_flava

    clip, flava = build_tiny_clip(tmp_path / "clip"), build_tiny_flava(tmp_path / "flava")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRMICRO_", "HF_"))}
    work = tmp_path / "notebook"
    work.mkdir()
    with HubServer(tmp_path / "hub", {TOKEN: HubUser("tester", ("my-lab",))}) as hub:
        hub_env = {
            "HF_ENDPOINT": hub.url,
            "HF_TOKEN": TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(clip), str(flava)],
            cwd=work,
            capture_output=True,
            text=True,
            env={**env, **hub_env},
            timeout=900,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")]
    report = json.loads(line.removeprefix("RESULT "))
    assert report["ingested"] == 9 and report["present"] == 9 and report["ok"]
    assert report["labels"] == ["ferrite_pearlite", "martensite", "spheroidite"]
    assert report["dtypes"][1:] == ["float64", "datetime64[us]"]
    assert report["arrow"][1] == "double" and report["arrow"][2].startswith("timestamp")
    assert report["polars"][1] == "Float64" and report["polars"][2].startswith("Datetime") and report["rows"] == 9
    assert Path(work / report["built"] / "README.md").is_file()
    assert report["classes"] == report["labels"] and report["splits"] == ["test", "train", "validation"]
    assert (report["published"], report["tag"], report["committed"]) == ("my-lab/chain", "v1.0", True)
    assert report["evaluate_split"] == "test" and report["train"] != report["evaluate"]
    assert report["predicted"] == 9 and report["queued"] + report["accepted"] == 9
    if report["queued"]:
        assert report["decided"]["source"] == "manual" and report["decided"]["label"] in report["labels"]
    assert report["qualified"] == 3 and set(report["decisions"]) <= {"accept", "reject"}
    assert report["run_kinds"] == ["evaluate", "predict", "qualify", "train"]
    assert "Traceback" not in result.stderr
