"""Every figure of issue 10 in one run: one summary table, one JSON file.

Each figure is a ratio against a baseline measured in the same run on the same
files (page cache warm), so a slower or busier machine moves both sides:

* ingest files/s over read+sha256 files/s (the floor of a content-addressed ingest),
  through the real CLI as a subprocess (whole process), and with ``--jobs 1/2`` when
  the CLI has that option;
* extraction alone (open, extract, pixel check) against rosettasciio's
  ``rsciio.tiff.file_reader(lazy=True)`` on the same files, in one child process
  (best of 3 alternating rounds per side; wall and CPU time);
* a rerun of an unchanged tree (whole process) against its first ingest;
* start-up of ``fairmicro query "SELECT 1"`` against ``python -c pass``;
* peak RSS of a first ingest of the large tree against the small one;
* a filtered aggregate over ``image_metadata`` on bulk-generated rows
  (``fairmicro.catalog.synthetic``), in process and whole process.

Files are generated 1.2 MB Zeiss/FEI TIFFs (``fairmicro.testing.samples``).

Run: ``python benchmarks/run_all.py [--quick] [--out PATH]``. ``--quick`` uses
fewer files and rows (a smoke run, not the issue's figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fairmicro.testing.samples import texture, write_fei_tiff, write_zeiss_tiff

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
FAIRMICRO = [PYTHON, "-m", "fairmicro"]
SHAPE = (1000, 1200)  # uint8: 1.2 MB per file
PER_FOLDER = 100


@dataclass(frozen=True)
class Sizes:
    ingest: int  # files of the throughput figure
    tree: int  # files of the rerun and the large RSS figure
    small: int  # files of the small RSS figure
    extract: int  # files of the extraction figure
    rows: int  # image_metadata rows of the query figure
    repeats: int  # best-of for start-up
    ingest_rounds: int  # alternating rounds of the ingest figure (median and best reported)


FULL = Sizes(ingest=600, tree=2000, small=200, extract=200, rows=1_000_000, repeats=7, ingest_rounds=3)
QUICK = Sizes(ingest=100, tree=300, small=100, extract=50, rows=100_000, repeats=3, ingest_rounds=1)


@dataclass(frozen=True)
class Run:
    """One child process: wall time, peak RSS, exit code."""

    seconds: float
    cpu_seconds: float  # user + system: less sensitive than wall time to other load on the machine
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a child to completion; its own peak RSS comes from ``os.wait4``."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(args, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return Run(seconds, cpu, usage.ru_maxrss / 1024, child.returncode, out.read().decode(), err.read().decode())


def checked(args: list[str], env: dict[str, str] | None = None) -> Run:
    result = run(args, env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])}... exited {result.returncode}: {result.stderr.strip()[-400:]}")
    return result


# ------------------------------------------------------------------ inputs
def write_tree(root: Path, count: int) -> list[Path]:
    """``count`` unique 1.2 MB Zeiss/FEI TIFFs in folders of ``PER_FOLDER``."""
    base = texture(SHAPE, seed=0)
    files = []
    for index in range(count):
        data = base.copy()
        data.ravel()[:8] = np.frombuffer(index.to_bytes(8, "little"), np.uint8)  # unique content
        writer = write_zeiss_tiff if index % 2 else write_fei_tiff
        path = root / f"batch_{index // PER_FOLDER:03d}" / f"img_{index:05d}.tif"
        files.append(writer(path, data))
    return files


def folders(root: Path, count: int) -> list[str]:
    """The folders holding the first ``count`` files of a tree."""
    return [str(root / f"batch_{i:03d}") for i in range(-(-count // PER_FOLDER))]


def warm(files: list[Path]) -> None:
    for path in files:
        path.read_bytes()


def compile_package() -> None:
    """Byte-compile fairmicro once, as ``pip install`` does for a wheel.

    In a source checkout run with ``PYTHONDONTWRITEBYTECODE=1`` every edited
    module is otherwise compiled again by every command (0.1-0.3 s of each
    measured start-up), which no installed copy pays.
    """
    import compileall

    import fairmicro

    compileall.compile_dir(Path(fairmicro.__file__).parent, quiet=1)


# ----------------------------------------------------------------- figures
HASH_SCRIPT = """
import hashlib, sys
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        hashlib.file_digest(handle, "sha256")
"""


def ingest_throughput(work: Path, tree: Path, files: list[Path], count: int, rounds: int) -> dict:
    """Median (and best) of ``rounds`` rounds; each round times read+sha256, then every variant, alternating.

    Each ingest's ratio is taken against the read+sha256 pass just before it, so a
    burst of load on a shared machine hits both sides of a ratio alike.
    """
    chosen = files[:count]
    warm(chosen)
    variants = {"default": []}
    if "--jobs" in checked([*FAIRMICRO, "ingest", "--help"]).stdout:
        variants |= {"jobs_1": ["--jobs", "1"], "jobs_2": ["--jobs", "2"]}
    runs: dict[str, list[tuple[Run, Run, int]]] = {name: [] for name in variants}
    for round_index in range(rounds):
        for name, extra in variants.items():
            hashing = checked([PYTHON, "-c", HASH_SCRIPT, *map(str, chosen)])
            catalog = work / f"throughput_{name}_{round_index}.duckdb"
            ingest = checked(
                [*FAIRMICRO, "ingest", "--json", *extra, *folders(tree, count)], {"FAIRMICRO_CATALOG": str(catalog)}
            )
            runs[name].append((hashing, ingest, json.loads(ingest.stdout)["ingested"]))
            catalog.unlink()
    hash_seconds = statistics.median(h.seconds for name in runs for h, _, _ in runs[name])
    result: dict = {
        "files": count,
        "rounds": rounds,
        "read_sha256_s": hash_seconds,
        "read_sha256_files_per_s": count / hash_seconds,
    }
    for name, measured in runs.items():
        ratios = [h.seconds / i.seconds for h, i, _ in measured]
        seconds = statistics.median(i.seconds for _, i, _ in measured)
        result[name] = {
            "seconds": seconds,
            "files_per_s": count / seconds,
            "ingested": measured[-1][2],
            "ratio_to_read_sha256": statistics.median(ratios),
            "ratio_best": max(ratios),
            "ratios": ratios,
            "cpu_ratios": [h.cpu_seconds / i.cpu_seconds for h, i, _ in measured],  # jobs > 1: workers not counted
        }
    return result


EXTRACT_SCRIPT = """
import json, sys, time
from pathlib import Path
rounds, paths = int(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
from fairmicro.extractors.registry import extract_file
extract_file(paths[0])  # entry points and imports, once
try:
    from rsciio.tiff import file_reader
except ImportError:
    file_reader = None
else:
    file_reader(str(paths[0]), lazy=True)

def timed(function):
    start, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        function(path)
    return time.perf_counter() - start, time.process_time() - cpu

ours, peer = [], []
for _ in range(rounds):  # alternate, so a burst of load on the machine hits both sides alike
    ours.append(timed(extract_file))
    if file_reader is not None:
        peer.append(timed(lambda path: file_reader(str(path), lazy=True)))
print(json.dumps({"ours": ours, "peer": peer}))
"""
EXTRACT_ROUNDS = 3


def extraction(files: list[Path], count: int) -> dict:
    """Best of :data:`EXTRACT_ROUNDS` alternating rounds of each side, wall and CPU time."""
    chosen = files[:count]
    warm(chosen)
    runs = json.loads(checked([PYTHON, "-c", EXTRACT_SCRIPT, str(EXTRACT_ROUNDS), *map(str, chosen)]).stdout)
    ours, peer = min(runs["ours"]), min(runs["peer"]) if runs["peer"] else None
    return {
        "files": count,
        "rounds": EXTRACT_ROUNDS,
        "fairmicro_s": ours[0],
        "fairmicro_cpu_s": ours[1],
        "rosettasciio_s": None if peer is None else peer[0],
        "rosettasciio_cpu_s": None if peer is None else peer[1],
        "speedup_vs_rosettasciio": None if peer is None else peer[0] / ours[0],
        "cpu_speedup_vs_rosettasciio": None if peer is None else peer[1] / ours[1],
        "all_rounds": runs,
        "note": None if peer is not None else "rosettasciio not installed: pip install rosettasciio",
    }


def rerun_and_memory(work: Path, tree: Path, sizes: Sizes) -> dict:
    small = checked(
        [*FAIRMICRO, "ingest", "--json", *folders(tree, sizes.small)], {"FAIRMICRO_CATALOG": str(work / "small.duckdb")}
    )
    env = {"FAIRMICRO_CATALOG": str(work / "tree.duckdb")}
    first = checked([*FAIRMICRO, "ingest", "--json", *folders(tree, sizes.tree)], env)
    rerun = checked([*FAIRMICRO, "ingest", "--json", *folders(tree, sizes.tree)], env)
    summary = json.loads(rerun.stdout)
    return {
        "files": sizes.tree,
        "first_s": first.seconds,
        "rerun_s": rerun.seconds,
        "rerun_speedup": first.seconds / rerun.seconds,
        "rerun_ingested": summary["ingested"],
        "rerun_already_present": summary.get("already_present"),
        "small_files": sizes.small,
        "small_peak_rss_mb": small.max_rss_mb,
        "large_peak_rss_mb": first.max_rss_mb,
        "rss_ratio": first.max_rss_mb / small.max_rss_mb,
    }


def startup(work: Path, files: list[Path], repeats: int) -> dict:
    catalog = work / "startup.duckdb"
    checked([*FAIRMICRO, "ingest", str(files[0])], {"FAIRMICRO_CATALOG": str(catalog)})
    script = Path(PYTHON).with_name("fairmicro")
    command = [str(script)] if script.exists() else FAIRMICRO
    env = {"FAIRMICRO_CATALOG": str(catalog)}
    query = [checked([*command, "query", "SELECT 1"], env) for _ in range(repeats)]
    bare = [checked([PYTHON, "-c", "pass"]) for _ in range(repeats)]
    best = min(r.seconds for r in query)
    return {
        "query_s": best,
        "query_cpu_s": min(r.cpu_seconds for r in query),
        "python_pass_s": min(r.seconds for r in bare),
        "query_over_python": best / min(r.seconds for r in bare),
        "query_all_s": [r.seconds for r in query],
        "command": " ".join(Path(c).name for c in command),
    }


QUERY_SQL = (
    "SELECT detector, count(*) AS images, avg(accelerating_voltage_kv) AS kv FROM image_metadata "
    "WHERE material = 'HCCI' AND accelerating_voltage_kv >= 15 AND magnification > 1000 GROUP BY detector"
)
GENERATE_SCRIPT = """
import sys
from fairmicro.catalog import Catalog
from fairmicro.catalog.synthetic import add_synthetic_images
with Catalog.open(sys.argv[1]) as catalog:
    add_synthetic_images(catalog, int(sys.argv[2]))
"""
TIME_QUERY_SCRIPT = """
import json, sys, time
from fairmicro.catalog import Catalog
with Catalog.open_for_reading(sys.argv[1]) as catalog:  # upgrades a catalog a newer migration has appeared for
    times = []
    for _ in range(3):
        start = time.perf_counter()
        catalog.query(sys.argv[2])
        times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def query_at_scale(work: Path, rows: int) -> dict:
    catalog = work / "rows.duckdb"
    generate = checked([PYTHON, "-c", GENERATE_SCRIPT, str(catalog), str(rows)])
    in_process = json.loads(checked([PYTHON, "-c", TIME_QUERY_SCRIPT, str(catalog), QUERY_SQL]).stdout)
    whole = checked([*FAIRMICRO, "query", QUERY_SQL, "--format", "json"], {"FAIRMICRO_CATALOG": str(catalog)})
    return {
        "rows": rows,
        "generate_s": generate.seconds,
        "query_s": min(in_process),
        "query_all_s": in_process,
        "whole_process_s": whole.seconds,
        "sql": QUERY_SQL,
    }


# ----------------------------------------------------------------- report
def machine() -> dict:
    import duckdb
    import tifffile

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "duckdb": duckdb.__version__,
        "tifffile": tifffile.__version__,
    }


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.2f}{unit}"


def table(results: dict) -> str:
    ing, ext, tree = results["ingest"], results["extraction"], results["rerun_and_memory"]
    start, query = results["startup"], results["query"]
    rows = [
        (
            "ingest files/s / read+sha256 files/s",
            _fmt(ing["default"]["ratio_to_read_sha256"], "x"),
            ">= 0.8",
            (
                f"{ing['default']['files_per_s']:.1f} vs {ing['read_sha256_files_per_s']:.1f} files/s, "
                f"{ing['files']} files; median of {ing.get('rounds', 1)}, best {_fmt(ing['default'].get('ratio_best'), 'x')}"
            ),
        ),
    ]
    for name in ("jobs_1", "jobs_2"):
        if name in ing:
            rows.append(
                (
                    f"  --jobs {name[-1]}",
                    _fmt(ing[name]["ratio_to_read_sha256"], "x"),
                    "near-linear",
                    f"{ing[name]['files_per_s']:.1f} files/s; best {_fmt(ing[name].get('ratio_best'), 'x')}",
                )
            )
    if "jobs_1" not in ing:
        rows.append(("  --jobs 1 / 2", "n/a", "near-linear", "ingest has no --jobs option"))
    rows += [
        (
            "extraction speed-up vs rosettasciio lazy",
            _fmt(ext["speedup_vs_rosettasciio"], "x"),
            ">= 3x",
            (
                f"{ext['files']} files: {_fmt(ext['fairmicro_s'], ' s')} vs {_fmt(ext['rosettasciio_s'], ' s')}; "
                f"cpu {_fmt(ext.get('cpu_speedup_vs_rosettasciio'), 'x')} (best of {ext.get('rounds', 1)})"
            ),
        ),
        (
            "rerun of unchanged tree, speed-up",
            _fmt(tree["rerun_speedup"], "x"),
            ">= 20x",
            f"{tree['files']} files: {tree['first_s']:.1f} s first, {tree['rerun_s']:.2f} s rerun",
        ),
        (
            'start-up: query "SELECT 1"',
            _fmt(start["query_s"], " s"),
            "< 0.5 s",
            (
                f"cpu {start['query_cpu_s']:.2f} s; python -c pass {start['python_pass_s']:.3f} s "
                f"(best of {len(start['query_all_s'])})"
            ),
        ),
        (
            "peak RSS large / small tree",
            _fmt(tree["rss_ratio"], "x"),
            "<= 1.2x",
            (
                f"{tree['large_peak_rss_mb']:.0f} MB ({tree['files']}) vs {tree['small_peak_rss_mb']:.0f} MB "
                f"({tree['small_files']})"
            ),
        ),
        (
            f"filtered aggregate, {query['rows']:,} rows",
            _fmt(query["query_s"], " s"),
            "< 1 s",
            f"whole process {query['whole_process_s']:.2f} s",
        ),
    ]
    widths = [max(len(r[i]) for r in [("figure", "measured", "goal", "detail"), *rows]) for i in range(4)]
    lines = []
    for row in [("figure", "measured", "goal", "detail"), tuple("-" * w for w in widths), *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and rows (smoke run)")
    parser.add_argument("--out", type=Path, help="JSON results file (default benchmarks/results/...)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    out = args.out or HERE / "results" / ("run_all_quick.json" if args.quick else "run_all.json")
    results: dict = {"mode": "quick" if args.quick else "full", "sizes": asdict(sizes), "machine": machine()}
    compile_package()
    with tempfile.TemporaryDirectory(prefix="fairmicro-bench-") as tmp:
        work = Path(tmp)
        files = write_tree(work / "tree", max(sizes.tree, sizes.ingest, sizes.small))
        results["ingest"] = ingest_throughput(work, work / "tree", files, sizes.ingest, sizes.ingest_rounds)
        results["extraction"] = extraction(files, sizes.extract)
        results["rerun_and_memory"] = rerun_and_memory(work, work / "tree", sizes)
        results["startup"] = startup(work, files, sizes.repeats)
        results["query"] = query_at_scale(work, sizes.rows)
    results["machine"]["loadavg_after"] = os.getloadavg()
    summary = table(results)
    results["summary"] = summary.splitlines()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(
        summary + f"\n\nload average {results['machine']['loadavg']} on "
        f"{results['machine']['cpus']} cpus; results in {out}\n"
    )


if __name__ == "__main__":
    main()
