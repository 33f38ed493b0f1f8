#!/usr/bin/env bash
# Install fairmicro into .venv and run the main job on generated sample data:
# write a small lab collection (Zeiss + FEI TIFFs, specimens.csv), ingest it, query it,
# build a leakage-free tiled dataset (Parquet + card, RO-Crate, Croissant) from it, then train the
# texture baseline on it with default parameters and evaluate the run on the held-out test split.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
make_venv
install_torch
install_fairmicro ".[models]"

rm -rf demo && mkdir -p demo
"$VENV/bin/python" -m fairmicro.testing.samples demo/lab >/dev/null
export FAIRMICRO_CATALOG=demo/fairmicro.duckdb
fm() { echo "+ fairmicro $*" >&2; "$VENV/bin/fairmicro" "$@"; }

fm ingest demo/lab --specimens demo/lab/specimens.csv \
    --specimen-pattern '(?P<specimen_id>HC\d+)_' --label-from-folder
fm ingest demo/lab   # a rerun finds everything already present
fm query "SELECT vendor, detector, count(*) AS images, avg(accelerating_voltage_kv) AS kv,
                 avg(pixel_size_x_nm) AS pixel_nm
          FROM image_metadata GROUP BY ALL ORDER BY vendor"
fm query "SELECT label, specimen_id, cooling_method, heat_treatment_temperature_c, count(*) AS n
          FROM image_metadata GROUP BY ALL ORDER BY label, specimen_id"
fm build demo-tiles --where "material = 'UHCS'" --label-column label --tile 64 --split-by specimen_id \
    --splits 0.34,0.33,0.33 --seed 0 --license CC-BY-4.0 --out demo/demo-tiles
"$VENV/bin/python" -c "import datasets; print(datasets.load_dataset('demo/demo-tiles'))"
fm train texture --dataset demo/demo-tiles --runs-dir demo/runs
run_id=$("$VENV/bin/fairmicro" runs --format json | "$VENV/bin/python" -c "import json, sys; print(json.load(sys.stdin)[-1]['run_id'])")
fm evaluate "$run_id" --split test
echo "demo catalog: demo/fairmicro.duckdb; dataset: demo/demo-tiles; runs: demo/runs" >&2
